/**
 * Fault injection for the emulator's services: per request, decide whether to answer normally, with a
 * 503 or 504, with a random 429 (Exchange only; sparse throttling, independent of any budget), or to
 * drop the connection without an answer. Decisions are a pure function of the seed
 * and a request counter, so a test that sends the same sequence of requests sees the same faults.
 */

import { hash32 } from "./data/prng.js";
import type { FaultOptions } from "./types.js";

export type FaultDecision = "none" | "503" | "504" | "drop" | "429";
export type FaultService = "identity" | "graph" | "exchange";

export interface FaultInjector {
  /** whether faults apply to this service at all (default: only "exchange") */
  appliesTo(service: FaultService): boolean;
  /** the decision for the next request (advances the counter) */
  next(): FaultDecision;
  /** requests decided so far */
  readonly decided: number;
}

const FIELD_KIND = 1;
const FIELD_STATUS = 2;

export function createFaultInjector(options: FaultOptions = {}): FaultInjector {
  const errorRate = clampRate(options.errorRate, "errorRate");
  const dropRate = clampRate(options.dropRate, "dropRate");
  const throttleRate = clampRate(options.throttleRate, "throttleRate");
  const seed = options.seed ?? 1;
  const services = new Set<FaultService>(options.services ?? ["exchange"]);
  let counter = 0;
  return {
    appliesTo: (service) => services.has(service),
    get decided() {
      return counter;
    },
    next() {
      const n = counter++;
      if (errorRate === 0 && dropRate === 0 && throttleRate === 0) return "none";
      const u = hash32(seed, n, FIELD_KIND) / 0x100000000;
      if (u < dropRate) return "drop";
      if (u < dropRate + errorRate) return hash32(seed, n, FIELD_STATUS) & 1 ? "504" : "503";
      if (u < dropRate + errorRate + throttleRate) return "429";
      return "none";
    },
  };
}

function clampRate(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new RangeError(`${name} must be between 0 and 1`);
  return value;
}
