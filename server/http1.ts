/**
 * The upload server's HTTP/1.1 front (RFC 9112), with the limits `Deno.serve` does not offer:
 *
 * - the request head must arrive within `headerTimeoutMs` of the connection opening (or of the
 *   previous answer on a kept-alive connection): a slow sender gets 408 and the connection
 *   closes, so slow headers cannot hold connections (Deno.serve held them for minutes);
 * - the head is at most `headerBytesMax` bytes and `headersMax` lines (431);
 * - at most `maxConnections` open connections (more are answered 429 and closed);
 * - strict framing: Content-Length or chunked, never both, no other transfer coding, one
 *   Content-Length value, origin-form targets only (400) — so no request can be read two ways;
 * - answers are written within `writeTimeoutMs`, or the connection is closed.
 *
 * The body reaches the handler as a stream; the app bounds its size and its arrival rate
 * (`body.ts`). Every refusal here is the API's coded JSON answer (docs/upload-api.md).
 */
import { ApiError, type ErrorAnswer, errorAnswer } from "../core/upload/errors.ts";

export interface Http1Options {
  readonly hostname: string;
  readonly port: number;
  /** Time allowed for a request head (default 10,000 ms). */
  readonly headerTimeoutMs?: number;
  /** Largest request head in bytes (default 16 KiB). */
  readonly headerBytesMax?: number;
  /** Most header lines (default 100). */
  readonly headersMax?: number;
  /** Most open connections (default 1,024). */
  readonly maxConnections?: number;
  /** Time allowed to write an answer (default 30,000 ms). */
  readonly writeTimeoutMs?: number;
  /** Called once the server listens. */
  readonly onListen?: (addr: { hostname: string; port: number }) => void;
  /** Called for each refusal made here (before the app), e.g. for metrics. */
  readonly onRefusal?: (status: number, code: string) => void;
}

export interface Http1Server {
  readonly addr: { hostname: string; port: number };
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets answers in progress finish (at most 10 s), closes everything. */
  shutdown(): Promise<void>;
}

type Handler = (req: Request) => Promise<Response> | Response;

const CRLF2 = Uint8Array.of(13, 10, 13, 10);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;
const READ_CHUNK = 64 * 1024;
const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};
/** Headers this front writes itself (the app's values are dropped). */
const OWN_HEADERS = new Set(["connection", "content-length", "transfer-encoding", "date"]);

const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = Math.max(0, from); i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** A refusal made while reading the request: its API error. */
class Refused extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

const refuse = (code: "BAD_REQUEST" | "HEADERS_TOO_LARGE", message: string) =>
  new Refused(new ApiError(code, message));

/** Buffered reading from a connection. */
class ConnReader {
  #buf = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  get buffered(): Uint8Array {
    return this.#buf;
  }

  /** Reads more bytes into the buffer; false at end of stream. */
  async fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_CHUNK);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const b = new Uint8Array(this.#buf.length + n);
    b.set(this.#buf);
    b.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = b;
    return true;
  }

  take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** Up to `max` bytes (buffered first), or null at end of stream. */
  async some(max: number): Promise<Uint8Array | null> {
    if (this.#buf.length > 0) return this.take(Math.min(max, this.#buf.length));
    const chunk = new Uint8Array(Math.min(max, READ_CHUNK));
    const n = await this.conn.read(chunk);
    return n === null ? null : chunk.subarray(0, n);
  }

  /** One CRLF-terminated line of at most `max` bytes (without the CRLF). */
  async line(max: number): Promise<string> {
    for (;;) {
      const i = indexOf(this.#buf, CRLF2.subarray(2), 0);
      if (i >= 0) {
        const l = latin1.decode(this.take(i));
        this.take(2);
        return l;
      }
      if (this.#buf.length > max + 1) throw refuse("BAD_REQUEST", "chunk line too long");
      if (!(await this.fill())) throw refuse("BAD_REQUEST", "body ended inside a chunk");
    }
  }
}

/** A parsed request head. */
interface Head {
  readonly method: string;
  readonly target: string;
  readonly minor: 0 | 1;
  readonly headers: [string, string][];
}

/** Values of one header (names compared case-insensitively). */
function values(h: Head, name: string): string[] {
  return h.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
}

/** True when a header value holds a control character other than HTAB (RFC 9110 §5.5). */
function hasControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** The request line and header lines of a complete head (without the final CRLF CRLF). */
function parseHead(text: string, headersMax: number): Head {
  const lines = text.split("\r\n");
  while (lines.length > 0 && lines[0] === "") lines.shift(); // RFC 9112 §2.2: leading CRLFs
  if (lines.some((l) => /[\r\n]/.test(l))) throw refuse("BAD_REQUEST", "bare CR or LF in head");
  const m = REQUEST_LINE.exec(lines[0] ?? "");
  if (!m) throw refuse("BAD_REQUEST", "malformed request line");
  const target = m[2];
  if (!target.startsWith("/") || !/^[\x21-\x7e]+$/.test(target)) {
    throw refuse("BAD_REQUEST", "request target must be an origin-form path");
  }
  if (lines.length - 1 > headersMax) {
    throw refuse("HEADERS_TOO_LARGE", `more than ${headersMax} header lines`);
  }
  const headers: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const colon = l.indexOf(":");
    const name = colon > 0 ? l.slice(0, colon) : "";
    const value = l.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!TOKEN.test(name)) throw refuse("BAD_REQUEST", "malformed header line");
    if (hasControl(value)) {
      throw refuse("BAD_REQUEST", `control character in header ${name.slice(0, 40)}`);
    }
    headers.push([name, value]);
  }
  return { method: m[1], target, minor: m[3] === "1" ? 1 : 0, headers };
}

/** How the body is delimited. */
type Framing = { kind: "none" } | { kind: "length"; n: number } | { kind: "chunked" };

/** Content-Length or chunked, never both, nothing else (RFC 9112 §6.3). */
function framingOf(h: Head): Framing {
  const te = values(h, "transfer-encoding");
  const cl = values(h, "content-length").flatMap((v) => v.split(",")).map((v) => v.trim());
  if (te.length > 0) {
    if (cl.length > 0) {
      throw refuse("BAD_REQUEST", "both Content-Length and Transfer-Encoding");
    }
    if (h.minor === 0 || te.join(",").trim().toLowerCase() !== "chunked") {
      throw refuse("BAD_REQUEST", "the only transfer coding accepted is chunked (HTTP/1.1)");
    }
    return { kind: "chunked" };
  }
  if (cl.length === 0) return { kind: "none" };
  if (!cl.every((v) => /^[0-9]{1,15}$/.test(v)) || new Set(cl.map(Number)).size !== 1) {
    throw refuse("BAD_REQUEST", "invalid Content-Length");
  }
  const n = Number(cl[0]);
  return n === 0 ? { kind: "none" } : { kind: "length", n };
}

/** What happened to a request's body. */
interface BodyState {
  complete: boolean;
  started: boolean;
}

/** The size line of the next chunk (extensions ignored). */
async function chunkSize(r: ConnReader): Promise<number> {
  const m = /^([0-9A-Fa-f]{1,8})(?:[ \t]*;.*)?$/.exec(await r.line(1024));
  if (!m) throw refuse("BAD_REQUEST", "malformed chunk size");
  return parseInt(m[1], 16);
}

/** The trailer section after the last chunk, up to its empty line (read and dropped). */
async function trailers(r: ConnReader): Promise<void> {
  for (let n = 0; (await r.line(8192)) !== ""; n++) {
    if (n >= 32) throw refuse("BAD_REQUEST", "too many trailer lines");
  }
}

/**
 * The body as a stream, one piece per pull: `length` bytes, or chunks until the last chunk and
 * its trailers. A framing error errors the stream with the API's 400.
 */
function bodyStream(
  r: ConnReader,
  f: Exclude<Framing, { kind: "none" }>,
  state: BodyState,
  onStart: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let left = f.kind === "length" ? f.n : 0; // bytes left in the body or the current chunk
  const piece = async (ctl: ReadableStreamDefaultController<Uint8Array>) => {
    const b = await r.some(left);
    if (b === null) throw refuse("BAD_REQUEST", "connection closed before the body ended");
    left -= b.length;
    ctl.enqueue(b);
  };
  const end = (ctl: ReadableStreamDefaultController<Uint8Array>) => {
    state.complete = true;
    ctl.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        if (!state.started) (state.started = true, await onStart());
        if (f.kind === "length") {
          await piece(ctl);
          if (left === 0) end(ctl);
          return;
        }
        if (left === 0) {
          left = await chunkSize(r);
          if (left === 0) return (await trailers(r), end(ctl));
        }
        await piece(ctl);
        if (left === 0 && (await r.line(0)) !== "") {
          throw refuse("BAD_REQUEST", "chunk data not followed by CRLF");
        }
      } catch (e) {
        ctl.error(e instanceof Refused ? e.error : e);
      }
    },
  });
}

/** One connection: requests one after another while both sides keep it alive. */
class Connection {
  readonly reader: ConnReader;
  #closed = false;
  #idle = true;
  #stopping = false;

  constructor(readonly conn: Deno.Conn, readonly o: Required<Omit<Http1Options, "onListen">>) {
    this.reader = new ConnReader(conn);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed by the peer */ }
  }

  /** Asks the connection to end: at once when idle, after its answer otherwise. */
  stop(): void {
    this.#stopping = true;
    if (this.#idle) this.close();
  }

  /** Writes all bytes within the write deadline; false when it could not. */
  async write(bytes: Uint8Array): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<false>((r) =>
      timer = setTimeout(() => r(false), this.o.writeTimeoutMs)
    );
    const all = (async () => {
      for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
      return true;
    })().catch(() => false);
    try {
      const ok = await Promise.race([all, expired]);
      if (!ok) this.close();
      return ok;
    } finally {
      clearTimeout(timer);
    }
  }

  async answer(res: Response, close: boolean, head: boolean): Promise<boolean> {
    const body = new Uint8Array(await res.arrayBuffer());
    let text = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}\r\n`;
    res.headers.forEach((v, k) => {
      if (!OWN_HEADERS.has(k)) text += `${k}: ${v}\r\n`;
    });
    text += `date: ${new Date().toUTCString()}\r\ncontent-length: ${body.length}\r\n`;
    if (close) text += "connection: close\r\n";
    const h = ascii.encode(text + "\r\n");
    if (head || body.length === 0) return await this.write(h);
    const all = new Uint8Array(h.length + body.length);
    all.set(h);
    all.set(body, h.length);
    return await this.write(all);
  }

  async refusal(e: ApiError): Promise<void> {
    this.o.onRefusal(e.status, e.code);
    const a: ErrorAnswer = errorAnswer(e, crypto.randomUUID());
    await this.answer(new Response(a.body, { status: a.status, headers: a.headers }), true, false);
  }

  /**
   * Reads a request head within the header deadline. Null: the peer closed, or stayed silent
   * on a kept-alive connection (closed without an answer).
   */
  async head(first: boolean): Promise<Head | null> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (this.reader.buffered.length === 0 && !first) this.close();
      else {
        this.refusal(
          new ApiError(
            "REQUEST_TIMEOUT",
            `request head not received within ${this.o.headerTimeoutMs} ms`,
          ),
        ).finally(() => this.close());
      }
    }, this.o.headerTimeoutMs);
    try {
      for (let from = 0;;) {
        const buf = this.reader.buffered;
        const end = indexOf(buf, CRLF2, from);
        if (end >= 0 && end + 4 <= this.o.headerBytesMax) {
          this.#idle = false;
          return parseHead(
            latin1.decode(this.reader.take(end + 4).subarray(0, end)),
            this.o.headersMax,
          );
        }
        if (buf.length > this.o.headerBytesMax) {
          throw refuse(
            "HEADERS_TOO_LARGE",
            `request head larger than ${this.o.headerBytesMax} bytes`,
          );
        }
        from = Math.max(0, buf.length - 3);
        if (!(await this.reader.fill().catch(() => false)) || timedOut) return null;
        this.#idle = false;
      }
    } catch (e) {
      if (timedOut) return null;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets the peer read the answer before the socket goes: no more writes, unread input drained briefly. */
  async linger(): Promise<void> {
    try {
      await this.conn.closeWrite();
      const until = Date.now() + 1000;
      const sink = new Uint8Array(READ_CHUNK);
      for (let n = 0; n < 4 * 1024 * 1024 && Date.now() < until;) {
        const t = setTimeout(() => this.close(), Math.max(1, until - Date.now()));
        const k = await this.conn.read(sink).finally(() => clearTimeout(t));
        if (k === null) break;
        n += k;
      }
    } catch { /* closed */ }
    this.close();
  }

  /** Serves requests on this connection until one side ends it. */
  async run(handler: Handler): Promise<void> {
    try {
      for (let first = true; !this.#closed; first = false) {
        this.#idle = true;
        if (this.#stopping) break;
        let h: Head | null;
        try {
          h = await this.head(first);
        } catch (e) {
          if (!(e instanceof Refused)) throw e;
          await this.refusal(e.error);
          break;
        }
        if (h === null) break;
        if (!(await this.exchange(h, handler))) break;
      }
    } catch { /* a broken connection ends here; the server goes on */ }
    if (!this.#closed) await this.linger();
  }

  /** One request and its answer; true when the connection may carry another request. */
  async exchange(h: Head, handler: Handler): Promise<boolean> {
    let framing: Framing;
    try {
      framing = framingOf(h);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      await this.refusal(e.error);
      return false;
    }
    const state: BodyState = { complete: framing.kind === "none", started: false };
    const expects = values(h, "expect").some((v) => v.toLowerCase() === "100-continue");
    const noBody = h.method === "GET" || h.method === "HEAD";
    const req = this.request(h, framing, state, expects, noBody);
    if (req === null) {
      await this.refusal(
        new ApiError("BAD_REQUEST", `method ${h.method.slice(0, 20)} not supported`),
      );
      return false;
    }
    let res: Response;
    try {
      res = await handler(req);
    } catch {
      res = new Response(null, { status: 500 });
    }
    const connClose = values(h, "connection").some((v) => /(^|,)\s*close\s*(,|$)/i.test(v));
    const keep = state.complete && h.minor === 1 && !connClose && !this.#stopping;
    const written = await this.answer(res, !keep, h.method === "HEAD");
    return written && keep;
  }

  /** The Fetch API request for a head, its body a stream over this connection. */
  request(
    h: Head,
    f: Framing,
    state: BodyState,
    expects: boolean,
    noBody: boolean,
  ): Request | null {
    const host = values(h, "host")[0] ?? "";
    const origin = /^[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?$/.test(host) ? host : "localhost";
    const headers = new Headers();
    try {
      for (const [k, v] of h.headers) headers.append(k, v);
      const body = f.kind === "none" || noBody
        ? null
        : bodyStream(this.reader, f, state, async () => {
          if (expects) await this.write(ascii.encode("HTTP/1.1 100 Continue\r\n\r\n"));
        });
      return new Request(`http://${origin}${h.target}`, {
        method: h.method,
        headers,
        body,
        ...(body ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch {
      return null;
    }
  }
}

/** Starts the front on `hostname:port`; resolves once it listens. */
export function serveHttp1(options: Http1Options, handler: Handler): Http1Server {
  const o = {
    hostname: options.hostname,
    port: options.port,
    headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
    headerBytesMax: options.headerBytesMax ?? 16 * 1024,
    headersMax: options.headersMax ?? 100,
    maxConnections: options.maxConnections ?? 1024,
    writeTimeoutMs: options.writeTimeoutMs ?? 30_000,
    onRefusal: options.onRefusal ?? (() => {}),
  };
  const listener = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  const conns = new Set<Connection>();
  let stopping = false;
  options.onListen?.({ hostname: addr.hostname, port: addr.port });

  const accept = async () => {
    while (!stopping) {
      let c: Deno.TcpConn;
      try {
        c = await listener.accept();
      } catch {
        if (stopping) break;
        await new Promise((r) => setTimeout(r, 50)); // e.g. out of file descriptors: breathe
        continue;
      }
      try {
        c.setNoDelay(true);
      } catch { /* not a TCP socket option we need */ }
      const conn = new Connection(c, o);
      if (conns.size >= o.maxConnections) {
        conn.refusal(new ApiError("RATE_LIMITED", "too many open connections", undefined, 1))
          .finally(() => conn.linger());
        continue;
      }
      conns.add(conn);
      conn.run(handler).finally(() => conns.delete(conn));
    }
  };
  const finished = accept().then(() => drain(conns));

  return {
    addr: { hostname: addr.hostname, port: addr.port },
    finished,
    shutdown() {
      if (!stopping) {
        stopping = true;
        try {
          listener.close();
        } catch { /* already closed */ }
        for (const c of conns) c.stop();
      }
      return finished;
    },
  };
}

/** Waits for the connections to end (at most 10 s), then closes what is left. */
async function drain(conns: Set<Connection>): Promise<void> {
  const until = Date.now() + 10_000;
  while (conns.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  for (const c of conns) c.close();
}
