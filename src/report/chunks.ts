/**
 * Pieces (a file's lines) joined into chunks for `writeFileAtomic` to stream, each under ~32,000
 * characters. Small enough that V8 allocates every chunk in the young generation, where it dies at the
 * next scavenge: a string over ~128 KB goes straight to the large-object space, which only a full GC
 * frees, and 100,000 rows in 1,000-row chunks (550 KB each) left ~50 MB of written chunks on the heap
 * until one came (docs/report.md, "Memory"). Large enough that a 50 MB file is still ~1,700 writes.
 */
export const CHUNK_CHARS = 32_000;

export function* joinedInChunks(pieces: Iterable<string>, maxChars = CHUNK_CHARS): Generator<string> {
  let parts: string[] = [];
  let size = 0;
  for (const piece of pieces) {
    parts.push(piece);
    size += piece.length;
    if (size >= maxChars) {
      yield parts.join("");
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield parts.join("");
}
