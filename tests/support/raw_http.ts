/**
 * Raw HTTP/1.1 over TCP for tests that must send what `fetch` will not (slow or malformed
 * heads, both Content-Length and Transfer-Encoding, pipelined requests) and see exactly what
 * the server writes back, including whether it closes the connection.
 */

const dec = new TextDecoder("latin1");
const enc = new TextEncoder();

/** One answer as read off the wire. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: string;
}

/** Parses every complete answer in `text` (Content-Length framed), in order. */
export function parseAnswers(text: string): RawAnswer[] {
  const out: RawAnswer[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) return out;
    const [line, ...lines] = rest.slice(0, end).split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(line)?.[1] ?? NaN);
    const headers = new Map(lines.map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
    }));
    const n = Number(headers.get("content-length") ?? 0);
    if (rest.length < end + 4 + n) return out;
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + n) });
    rest = rest.slice(end + 4 + n);
  }
}

/** An open raw connection. */
export class RawConn {
  #text = "";
  #closed = false;
  readonly #reading: Promise<void>;
  readonly openedAt = performance.now();
  closedAt: number | null = null;

  private constructor(readonly conn: Deno.TcpConn) {
    this.#reading = (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          this.#text += dec.decode(buf.subarray(0, n));
        }
      } catch { /* reset or closed by us */ }
      this.#closed = true;
      this.closedAt = performance.now();
    })();
  }

  static async open(port: number): Promise<RawConn> {
    return new RawConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text or bytes; false when the server has closed the connection. */
  async send(data: string | Uint8Array): Promise<boolean> {
    try {
      const b = typeof data === "string" ? enc.encode(data) : data;
      for (let o = 0; o < b.length;) o += await this.conn.write(b.subarray(o));
      return true;
    } catch {
      return false;
    }
  }

  get text(): string {
    return this.#text;
  }

  get closed(): boolean {
    return this.#closed;
  }

  answers(): RawAnswer[] {
    return parseAnswers(this.#text);
  }

  /** Waits until `n` answers arrived or the server closed, at most `ms`. */
  async waitAnswers(n: number, ms: number): Promise<RawAnswer[]> {
    const until = performance.now() + ms;
    while (this.answers().length < n && !this.#closed && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.answers();
  }

  /** Waits until the server closes the connection, at most `ms`; true when it did. */
  async waitClosed(ms: number): Promise<boolean> {
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#reading, new Promise((r) => t = setTimeout(r, ms))]);
    clearTimeout(t);
    return this.#closed;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** Sends `data` on a fresh connection and collects what comes back until close or `ms`. */
export async function rawExchange(
  port: number,
  data: string | Uint8Array,
  ms = 3000,
): Promise<{ answers: RawAnswer[]; closed: boolean }> {
  const c = await RawConn.open(port);
  await c.send(data);
  const closed = await c.waitClosed(ms);
  const answers = c.answers();
  c.close();
  return { answers, closed };
}
