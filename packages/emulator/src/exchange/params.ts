/**
 * Cmdlet parameter binding: case-insensitive names checked against what each cmdlet declares, and
 * typed readers for the value shapes the module sends (docs/exchange-rest.md §2).
 */

import { invalidParameterValue, missingMandatoryParameter, parameterNotFound } from "./errors.js";

/** Accepted on every cmdlet and ignored (PowerShell common parameters the module forwards). */
const COMMON_PARAMETERS = [
  "ErrorAction",
  "WarningAction",
  "InformationAction",
  "Verbose",
  "Debug",
  "Confirm",
  "ErrorVariable",
  "WarningVariable",
  "OutVariable",
];

export class BoundParameters {
  private constructor(private readonly values: Map<string, unknown>) {}

  /**
   * Bind raw `Parameters` to the declared names (canonical spelling kept); an unknown name fails like
   * PowerShell's "A parameter cannot be found that matches parameter name 'X'".
   */
  static bind(raw: Record<string, unknown>, declared: readonly string[]): BoundParameters {
    const byLower = new Map<string, string>();
    for (const name of [...declared, ...COMMON_PARAMETERS]) byLower.set(name.toLowerCase(), name);
    const values = new Map<string, unknown>();
    for (const [name, value] of Object.entries(raw)) {
      if (name.includes("@")) continue; // OData annotations such as "X@odata.type"
      const canonical = byLower.get(name.toLowerCase());
      if (!canonical) throw parameterNotFound(name);
      values.set(canonical, value);
    }
    return new BoundParameters(values);
  }

  has(name: string): boolean {
    return this.values.has(name) && this.values.get(name) !== null;
  }

  raw(name: string): unknown {
    return this.values.get(name);
  }

  string(name: string): string | undefined {
    const value = this.values.get(name);
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw invalidParameterValue(name, value, "expected a string");
  }

  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === "") throw missingMandatoryParameter(name);
    return value;
  }

  /** A switch: present and not false (`"Archive": true`; `-X:$false` arrives as false). */
  switch(name: string): boolean {
    const value = this.values.get(name);
    if (value === undefined || value === null || value === false) return false;
    if (value === true || value === "True" || value === "true" || value === "") return true;
    if (value === "False" || value === "false") return false;
    throw invalidParameterValue(name, value, "expected a switch (true or false)");
  }

  /** A multi-valued parameter: JSON array, or one string (commas allowed, as PowerShell would split it). */
  list(name: string): string[] | undefined {
    const value = this.values.get(name);
    if (value === undefined || value === null) return undefined;
    const items = Array.isArray(value) ? value : [value];
    const out: string[] = [];
    for (const item of items) {
      if (typeof item !== "string") throw invalidParameterValue(name, value, "expected strings");
      for (const part of item.split(",")) if (part.trim()) out.push(part.trim());
    }
    return out;
  }

  /** `ResultSize`: a non-negative integer or "Unlimited" (→ Infinity); `fallback` when absent. */
  resultSize(fallback: number): number {
    const value = this.values.get("ResultSize");
    if (value === undefined || value === null) return fallback;
    if (typeof value === "string" && value.trim().toLowerCase() === "unlimited")
      return Number.POSITIVE_INFINITY;
    const n =
      typeof value === "number" ? value : typeof value === "string" ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw invalidParameterValue(
        "ResultSize",
        value,
        'The value must be a non-negative integer or "Unlimited".',
      );
    }
    return n;
  }
}
