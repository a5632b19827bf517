/**
 * Secret redaction for logs and diagnostics. Everything a logger writes passes through `redact`, so a
 * token, assertion, password or private key that slips into a field or an error message never reaches
 * stderr or a log file. Two layers, because neither alone is enough:
 *  - by key: a field whose name says it holds a secret is replaced whatever its value looks like;
 *  - by shape: strings are scanned for JWTs, bearer headers, PEM private keys and `secret=value` pairs,
 *    and for exact values the caller registered (e.g. a password read from a file).
 */

export const REDACTED = "[REDACTED]";

/** Field names that hold secrets (matched case-insensitively, ignoring `-`/`_`). */
const SECRET_KEY =
  /^(authorization|proxyauthorization|cookie|setcookie|password|passwd|pwd|passphrase|secret|clientsecret|certificatepassword|privatekey|privatekeypem|key|proof|assertion|clientassertion|accesstoken|refreshtoken|idtoken|token|bearer|apikey|sessionkey)$/;
/** Field names that merely end in a secret-ish word (`adminAccessToken`, `exoCertificatePassword`). */
const SECRET_SUFFIX = /(token|password|passphrase|secret|assertion|privatekey|privatekeypem|apikey)$/;
/** Names that look secret but carry public, useful data. */
const PUBLIC_KEYS = new Set(["tokentype", "keyid", "tokenendpoint", "tokenrequests", "publickey"]);

const normaliseKey = (key: string) => key.toLowerCase().replace(/[-_\s]/g, "");

export function isSecretKey(key: string): boolean {
  const k = normaliseKey(key);
  if (PUBLIC_KEYS.has(k)) return false;
  return SECRET_KEY.test(k) || SECRET_SUFFIX.test(k);
}

/** Shapes of secrets inside free text. Order matters: PEM blocks first, they contain base64 runs. */
const TEXT_PATTERNS: Array<[RegExp, string | ((m: string, ...groups: string[]) => string)]> = [
  // PEM private keys of any kind (PKCS#1, PKCS#8, encrypted, EC), possibly truncated without END line.
  [
    /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    `-----BEGIN PRIVATE KEY----- ${REDACTED} -----END PRIVATE KEY-----`,
  ],
  // JWT / JWS / JWE compact forms: base64url header starting with {" (eyJ) then 1+ more segments.
  [/eyJ[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){1,4}/g, REDACTED],
  // Authorization header values, whatever the scheme ("Authorization: Basic dXNl...").
  [
    /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)([A-Za-z][A-Za-z0-9.]*\s+)?[^\s"',;]+/gi,
    (_m, head: string, scheme = "") => `${head}${scheme}${REDACTED}`,
  ],
  // A bearer token anywhere else; long enough that prose ("bearer tokens") is left alone.
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{16,}/gi, (_m, scheme: string) => `${scheme} ${REDACTED}`],
  // Form/query/JSON-ish pairs: client_assertion=..., "password":"...", access_token: ...
  [
    /\b((?:client_)?assertion|client_secret|(?:access|refresh|id)_token|password|passwd|passphrase|proof|secret)(["']?\s*[:=]\s*["']?)([^"'&\s,;}]+)/gi,
    (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`,
  ],
];

export interface RedactOptions {
  /** Exact secret values to remove wherever they appear (passwords, tokens known to the caller). */
  secrets?: Iterable<string>;
}

/** Redact secrets from a piece of free text. */
export function redactText(text: string, options: RedactOptions = {}): string {
  let out = text;
  // Exact values first: a password has no recognisable shape. Longest first, so a secret that contains
  // another is removed whole. Very short values would shred ordinary text, so they are not scanned.
  const exact = [...(options.secrets ?? [])].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  for (const secret of exact) out = out.split(secret).join(REDACTED);
  for (const [pattern, replacement] of TEXT_PATTERNS) {
    out = out.replace(pattern, replacement as never);
  }
  return out;
}

/**
 * Deep copy of `value` with secrets removed: secret-named fields replaced, strings scanned, errors turned
 * into plain objects (message, name, and their typed fields), cycles cut, depth bounded.
 */
export function redact(value: unknown, options: RedactOptions = {}): unknown {
  const secrets = options.secrets ? [...options.secrets] : [];
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return redactText(v, { secrets });
    if (v === null || typeof v !== "object") {
      return typeof v === "bigint" ? v.toString() : typeof v === "function" ? undefined : v;
    }
    if (v instanceof Date) return v.toISOString();
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `[${v.byteLength} bytes]`;
    if (seen.has(v)) return "[Circular]";
    if (depth > 8) return "[Truncated]";
    seen.add(v);
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    const source = v instanceof Error ? errorFields(v) : (v as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(source)) {
      if (item === undefined) continue;
      out[key] = isSecretKey(key) && item !== null && item !== "" ? REDACTED : walk(item, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}

function errorFields(error: Error): Record<string, unknown> {
  const typed = (error as { toJSON?: () => Record<string, unknown> }).toJSON?.();
  const out: Record<string, unknown> = typed ? { ...typed } : { error: error.name, message: error.message };
  if (out.message === undefined) out.message = error.message;
  if (error.cause !== undefined) out.cause = error.cause;
  return out;
}
