/**
 * Cmdlet parameters serialised the way the ExchangeOnlineManagement module does (docs/exchange-rest.md §2):
 * switches as booleans, multi-values as arrays, hashtables tagged `#Exchange.GenericHashTable`
 * (recursively), hashtable arrays with a sibling `<Name>@odata.type`, byte arrays as ByteArrayType,
 * dates as UTC without `Z`, and `$true`/`$false` inside filter text as 'True'/'False'.
 */
export type ParameterValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | Date
  | Uint8Array
  | ParameterValue[]
  | { [key: string]: ParameterValue };

export type CmdletParameters = Record<string, ParameterValue>;

const HASHTABLE_TYPE = "#Exchange.GenericHashTable";
const HASHTABLE_COLLECTION_TYPE = "#Collection(Exchange.GenericHashTable)";
const BYTES_TYPE = "#Exchange.ByteArrayType";
const BYTES_COLLECTION_TYPE = "#Collection(Exchange.ByteArrayType)";
const FILTER_PARAMETERS = new Set(["filter", "recipientfilter", "recipientpreviewfilter"]);

/** `yyyy-MM-ddTHH:mm:ss` in UTC: the module's SortableDateTimePattern, no `Z`. */
export function formatDate(date: Date): string {
  return date.toISOString().slice(0, 19);
}

const isPlainObject = (v: unknown): v is Record<string, ParameterValue> =>
  v !== null &&
  typeof v === "object" &&
  !Array.isArray(v) &&
  !(v instanceof Date) &&
  !(v instanceof Uint8Array);

function serializeValue(value: ParameterValue): unknown {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return formatDate(value);
  if (value instanceof Uint8Array)
    return { "@odata.type": BYTES_TYPE, Data: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(serializeValue);
  if (isPlainObject(value)) return serializeHashtable(value);
  return value;
}

function serializeHashtable(table: Record<string, ParameterValue>): Record<string, unknown> {
  const out: Record<string, unknown> = { "@odata.type": HASHTABLE_TYPE };
  for (const [key, value] of Object.entries(table)) {
    if (key === "@odata.type") continue;
    addEntry(out, key, value);
  }
  return out;
}

function addEntry(out: Record<string, unknown>, key: string, value: ParameterValue): void {
  if (value === undefined) return;
  if (Array.isArray(value) && value.length > 0 && value.every(isPlainObject)) {
    out[`${key}@odata.type`] = HASHTABLE_COLLECTION_TYPE;
  } else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Uint8Array)) {
    out[`${key}@odata.type`] = BYTES_COLLECTION_TYPE;
  }
  out[key] = serializeValue(value);
}

/** PowerShell `$true`/`$false` inside filter text become 'True'/'False' (the server parses OPATH). */
export function rewriteFilterBooleans(filter: string): string {
  return filter.replace(/\$true\b/gi, "'True'").replace(/\$false\b/gi, "'False'");
}

export function serializeParameters(params: CmdletParameters = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (FILTER_PARAMETERS.has(key.toLowerCase()) && typeof value === "string") {
      out[key] = rewriteFilterBooleans(value);
      continue;
    }
    addEntry(out, key, value);
  }
  return out;
}

/** The InvokeCommand body: `{"CmdletInput":{"CmdletName":…,"Parameters":{…}}}`. */
export function invokeCommandBody(cmdlet: string, params: CmdletParameters = {}): string {
  return JSON.stringify({ CmdletInput: { CmdletName: cmdlet, Parameters: serializeParameters(params) } });
}

/** `-ResultSize`: a positive count, `Unlimited` (Infinity), or undefined (the cmdlet's own default). */
export function parseResultSize(value: ParameterValue): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && value.toLowerCase() === "unlimited") return Number.POSITIVE_INFINITY;
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
