/**
 * Lines of an archive from a stream of byte chunks (a file on the command line, a `File` in
 * the browser): each line's bytes without its LF, numbered from 1. A last line without LF is
 * reported as such (a complete archive ends with LF).
 */

export interface Line {
  readonly no: number;
  readonly bytes: Uint8Array;
  /** False only for a last line that has no LF after it. */
  readonly lf: boolean;
  /** Bytes of input read up to the end of this line (progress). */
  readonly offset: number;
}

/** Splits a chunk stream into lines. */
export async function* linesOf(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Line> {
  let carry: Uint8Array[] = [];
  let carryBytes = 0;
  let no = 0, offset = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(10, start);
      if (lf < 0) break;
      let bytes = chunk.subarray(start, lf);
      if (carryBytes) {
        const all = new Uint8Array(carryBytes + bytes.length);
        let o = 0;
        for (const c of carry) (all.set(c, o), o += c.length);
        all.set(bytes, o);
        bytes = all;
        carry = [];
        carryBytes = 0;
      } else {
        bytes = bytes.slice();
      }
      offset += bytes.length + 1;
      yield { no: ++no, bytes, lf: true, offset };
      start = lf + 1;
    }
    if (start < chunk.length) {
      carry.push(chunk.slice(start));
      carryBytes += chunk.length - start;
    }
  }
  if (carryBytes) {
    const all = new Uint8Array(carryBytes);
    let o = 0;
    for (const c of carry) (all.set(c, o), o += c.length);
    offset += all.length;
    yield { no: ++no, bytes: all, lf: false, offset };
  }
}

/** Chunks of an in-memory archive (tests, the browser's small files). */
export async function* chunksOf(bytes: Uint8Array, size = 1 << 20): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
