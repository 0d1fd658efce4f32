/**
 * One framed connection to an acquirer host over TCP (TLS optional), with responses matched
 * to requests by answer MTI, STAN (field 11) and terminal (field 41), and a timeout per
 * request (docs/iso8583.md, "Link"). It knows nothing of MACs or meanings: `link.ts` does.
 * Answers nobody waits for (late, duplicate) and frames that do not decode are counted and
 * dropped; a broken stream closes the connection and every request waiting on it learns
 * `disconnected`.
 */
import { Iso8583Error } from "./errors.ts";
import { FrameDecoder, frameOf, openEnvelope, sealEnvelope } from "./frame.ts";
import type { IsoMessage, Packager } from "./codec.ts";

/** Where and how to connect. */
export interface Endpoint {
  readonly hostname: string;
  readonly port: number;
  /** TLS with these CA certificates (PEM) and server name; absent: plain TCP. */
  readonly tls?: { readonly caCerts?: string[]; readonly serverName?: string };
  readonly connectTimeoutMs?: number;
}

/** A matched answer: the decoded message and its raw bytes (for the MAC). */
export interface Answer {
  readonly msg: IsoMessage;
  readonly raw: Uint8Array;
  readonly header: Uint8Array;
}

/** How an exchange ended at the transport level. */
export type Exchanged =
  | { readonly kind: "answer"; readonly answer: Answer }
  | { readonly kind: "timeout" }
  | { readonly kind: "disconnected" }
  | { readonly kind: "unreachable"; readonly detail: string };

/** Counters of what the transport saw. */
export interface TransportStats {
  connects: number;
  sent: number;
  answered: number;
  timeouts: number;
  disconnects: number;
  /** Answers no request was waiting for (late or duplicate). */
  unmatched: number;
  /** Frames that did not decode. */
  malformed: number;
}

interface Pending {
  readonly gen: number;
  readonly resolve: (e: Exchanged) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The key an answer is matched by. */
export function matchKey(mti: string, stan: string, terminal: string): string {
  return `${mti}|${stan}|${terminal}`;
}

function keyOfAnswer(m: IsoMessage): string | undefined {
  const stan = m.fields.get(11), tid = m.fields.get(41);
  if (typeof stan !== "string" || typeof tid !== "string") return undefined;
  return matchKey(m.mti, stan, tid);
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

/** A framed, matched connection (reconnects on the next send after a drop). */
export class Transport {
  readonly stats: TransportStats = {
    connects: 0,
    sent: 0,
    answered: 0,
    timeouts: 0,
    disconnects: 0,
    unmatched: 0,
    malformed: 0,
  };
  #conn: Deno.Conn | undefined;
  #gen = 0;
  #reader: Promise<void> | undefined;
  #connecting: Promise<Deno.Conn> | undefined;
  #pending = new Map<string, Pending>();
  #closed = false;

  constructor(
    readonly endpoint: Endpoint,
    readonly packager: Packager,
    readonly envelope: { tpdu: Uint8Array; header: Uint8Array },
    readonly maxFrameBytes: number,
  ) {}

  /** Requests waiting for their answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  async #connect(): Promise<Deno.Conn> {
    if (this.#conn) return this.#conn;
    if (this.#connecting) return await this.#connecting;
    const e = this.endpoint;
    const open = e.tls
      ? Deno.connectTls({
        hostname: e.hostname,
        port: e.port,
        ...(e.tls.caCerts ? { caCerts: e.tls.caCerts } : {}),
      })
      : Deno.connect({ hostname: e.hostname, port: e.port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("connect timed out")), e.connectTimeoutMs ?? 5000);
    });
    this.#connecting = Promise.race([open, limit]).finally(() => clearTimeout(timer));
    let conn: Deno.Conn;
    try {
      conn = await this.#connecting;
    } catch (err) {
      // A connect that lands after the timeout is closed when it lands.
      open.then((c) => closeQuietly(c), () => {});
      throw err;
    } finally {
      this.#connecting = undefined;
    }
    if (this.#closed) {
      closeQuietly(conn);
      throw new Error("link closed");
    }
    // Requests are small frames written one by one: no Nagle delay waiting for the ACK.
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    this.#conn = conn;
    this.stats.connects++;
    const gen = ++this.#gen;
    this.#reader = this.#readLoop(conn, gen);
    return conn;
  }

  async #readLoop(conn: Deno.Conn, gen: number): Promise<void> {
    const decoder = new FrameDecoder(this.maxFrameBytes);
    const buf = new Uint8Array(16384);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const frame of decoder.push(buf.subarray(0, n))) this.#deliver(frame);
      }
    } catch {
      // A reset or a frame length that cannot be trusted: the connection is finished.
    } finally {
      this.#drop(conn, gen);
    }
  }

  #deliver(frame: Uint8Array): void {
    let answer: Answer;
    try {
      const env = openEnvelope(frame, this.envelope.header.length);
      answer = { msg: this.packager.unpack(env.message), raw: env.message, header: env.header };
    } catch {
      this.stats.malformed++;
      return;
    }
    const key = keyOfAnswer(answer.msg);
    const p = key === undefined ? undefined : this.#pending.get(key);
    if (!p) {
      this.stats.unmatched++;
      return;
    }
    this.#pending.delete(key!);
    clearTimeout(p.timer);
    this.stats.answered++;
    p.resolve({ kind: "answer", answer });
  }

  #drop(conn: Deno.Conn, gen: number): void {
    if (this.#conn === conn) this.#conn = undefined;
    closeQuietly(conn);
    for (const [key, p] of this.#pending) {
      if (p.gen !== gen) continue;
      this.#pending.delete(key);
      clearTimeout(p.timer);
      p.resolve({ kind: "disconnected" });
    }
    if (!this.#closed) this.stats.disconnects++;
  }

  /**
   * Connects if needed, awaits `beforeSend` (nothing is written when it throws), writes the
   * framed request and waits for the answer keyed `answerKey`, at most `timeoutMs`.
   * `message` (packed, MAC'd) is zeroed once written: it may hold track-2 data.
   */
  async exchange(
    message: Uint8Array,
    answerKey: string,
    timeoutMs: number,
    beforeSend?: () => Promise<void>,
  ): Promise<Exchanged> {
    if (this.#closed) throw new Iso8583Error("ISO8583_LINK", "link: closed");
    if (this.#pending.has(answerKey)) {
      throw new Iso8583Error("ISO8583_LINK", "link: a request with this STAN is in flight");
    }
    const frame = frameOf(sealEnvelope(this.envelope.tpdu, this.envelope.header, message));
    message.fill(0);
    let conn: Deno.Conn;
    try {
      conn = await this.#connect();
    } catch (e) {
      frame.fill(0);
      return { kind: "unreachable", detail: (e as Error).message };
    }
    try {
      if (beforeSend) await beforeSend();
    } catch (e) {
      frame.fill(0);
      throw e;
    }
    const gen = this.#gen;
    const answered = new Promise<Exchanged>((resolve) => {
      const timer = setTimeout(() => {
        if (this.#pending.get(answerKey)?.timer !== timer) return;
        this.#pending.delete(answerKey);
        this.stats.timeouts++;
        resolve({ kind: "timeout" });
      }, timeoutMs);
      this.#pending.set(answerKey, { gen, resolve, timer });
    });
    try {
      for (let o = 0; o < frame.length;) o += await conn.write(frame.subarray(o));
      this.stats.sent++;
    } catch {
      this.#drop(conn, gen);
    } finally {
      frame.fill(0);
    }
    return await answered;
  }

  /** Closes the connection; waiting requests end `disconnected`. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#connecting) await this.#connecting.catch(() => {});
    if (this.#conn) this.#drop(this.#conn, this.#gen);
    await this.#reader;
  }
}
