/**
 * One signal that aborts when any of several does, for as long as a request needs it.
 *
 * Not `AbortSignal.any`: on Node 20 each call registers a WeakRef to the new signal in every source, and
 * V8's young-generation collections treat WeakRef targets as alive, so every combined signal (and what it
 * holds) was promoted to the old generation. A report makes one per Exchange request, and these were the
 * largest share of its promoted garbage (a 30,000-mailbox run: ~70 of ~370 MB, measured with the sampling
 * heap profiler keeping objects freed by full collections). Here the links are plain listeners that the
 * caller removes with `release()` when the request is over, so the combined signal dies young.
 */
export interface LinkedSignal {
  signal: AbortSignal | undefined;
  /** Stop following the sources (call once the request and its retries are over). */
  release(): void;
}

const NOTHING_TO_RELEASE = () => undefined;

export function linkSignals(sources: ReadonlyArray<AbortSignal | undefined>): LinkedSignal {
  const present = sources.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return { signal: present[0], release: NOTHING_TO_RELEASE };
  const aborted = present.find((s) => s.aborted);
  if (aborted) return { signal: AbortSignal.abort(aborted.reason), release: NOTHING_TO_RELEASE };
  const controller = new AbortController();
  const links = present.map((source) => {
    const listener = () => {
      release();
      controller.abort(source.reason);
    };
    source.addEventListener("abort", listener, { once: true });
    return { source, listener };
  });
  function release(): void {
    for (const { source, listener } of links) source.removeEventListener("abort", listener);
  }
  return { signal: controller.signal, release };
}
