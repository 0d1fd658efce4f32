/**
 * The simulated acquirer/issuer host (docs/iso8583.md, "Simulated host"): a TCP (or TLS)
 * server speaking the same framing, TPDU/header and messages as the link, answering through
 * `SimIssuer`, with the faults of `faults.ts` injected on money requests. Requests are
 * processed in arrival order; answers are written one frame at a time per connection.
 */
import { Iso8583Error } from "../../core/iso8583/errors.ts";
import {
  answerTpdu,
  FrameDecoder,
  frameOf,
  openEnvelope,
  sealEnvelope,
} from "../../core/iso8583/frame.ts";
import { type AcquirerProfile, envelopeBytes, packagerOf } from "../../core/iso8583/profile.ts";
import { signPacked } from "../../core/iso8583/mac.ts";
import type { DenyListEntry } from "../../core/iso8583/answers.ts";
import { type FaultKind, FaultPlan, type FaultRates, NO_FAULTS } from "./faults.ts";
import { ApprovalLedger } from "./ledger.ts";
import { type Reply, SimIssuer } from "./issuer.ts";
import type { IssuerTruth } from "./truth.ts";

export interface HostOptions {
  readonly profile: AcquirerProfile;
  readonly tmkOf: (terminalId: string) => Uint8Array | undefined;
  readonly truth: IssuerTruth;
  /** Seed of the fault stream. */
  readonly seed: string;
  readonly faults?: FaultRates;
  /**
   * A fixed fault script instead of the seeded stream: called with the 1-based number of the
   * money request and its MTI (tests that need one fault at one place).
   */
  readonly schedule?: (n: number, mti: string) => FaultKind | undefined;
  /** Delay of a `late` answer (default 1,500 ms). */
  readonly lateMs?: number;
  readonly hostname?: string;
  /** 0 (default): any free port. */
  readonly port?: number;
  /** PEM certificate and key: serve TLS. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly clock?: () => Date;
  readonly acquirerId?: string;
  readonly denyList?: () => readonly DenyListEntry[];
  /** Deny-list entries per page (at most 29). */
  readonly pageSize?: number;
}

/** Counters of the host beside the issuer's. */
export interface HostStats {
  connections: number;
  frames: number;
  malformed: number;
  answersSent: number;
  faults: Record<FaultKind, number>;
}

class Peer {
  #chain: Promise<void> = Promise.resolve();
  closed = false;
  constructor(readonly conn: Deno.Conn) {}

  /** Queues one frame; frames never interleave. */
  send(frame: Uint8Array): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      if (this.closed) return;
      try {
        for (let o = 0; o < frame.length;) o += await this.conn.write(frame.subarray(o));
      } catch {
        this.close();
      }
    });
    return this.#chain;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

export class AcquirerHost {
  readonly ledger = new ApprovalLedger();
  readonly issuer: SimIssuer;
  readonly #faults: FaultPlan;
  readonly #listener: Deno.Listener;
  readonly #peers = new Set<Peer>();
  readonly #loops = new Set<Promise<void>>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #header: Uint8Array;
  readonly #stats = { connections: 0, frames: 0, malformed: 0, answersSent: 0 };
  #moneyRequests = 0;
  #accepting: Promise<void>;

  private constructor(readonly opts: HostOptions, listener: Deno.Listener) {
    this.#listener = listener;
    this.#header = envelopeBytes(opts.profile).header;
    this.#faults = new FaultPlan(opts.seed, opts.faults ?? NO_FAULTS, opts.lateMs ?? 1500);
    this.issuer = new SimIssuer({
      profile: opts.profile,
      tmkOf: opts.tmkOf,
      truth: opts.truth,
      clock: opts.clock ?? (() => new Date()),
      acquirerId: opts.acquirerId ?? "00096500",
      denyList: opts.denyList ?? (() => []),
      pageSize: opts.pageSize ?? 29,
    }, this.ledger);
    this.#accepting = this.#accept();
  }

  /** Starts listening (127.0.0.1 and a free port unless told otherwise). */
  static start(opts: HostOptions): AcquirerHost {
    const hostname = opts.hostname ?? "127.0.0.1";
    const port = opts.port ?? 0;
    const listener = opts.tls
      ? Deno.listenTls({ hostname, port, cert: opts.tls.cert, key: opts.tls.key })
      : Deno.listen({ hostname, port });
    return new AcquirerHost(opts, listener);
  }

  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  get profile(): AcquirerProfile {
    return this.opts.profile;
  }

  get stats(): HostStats {
    return { ...this.#stats, faults: { ...this.#faults.applied } };
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
        const peer = new Peer(conn);
        this.#peers.add(peer);
        this.#stats.connections++;
        const loop = this.#serve(peer).finally(() => {
          this.#peers.delete(peer);
          this.#loops.delete(loop);
        });
        this.#loops.add(loop);
      }
    } catch {
      // listener closed
    }
  }

  async #serve(peer: Peer): Promise<void> {
    const decoder = new FrameDecoder(this.opts.profile.maxFrameBytes);
    const buf = new Uint8Array(16384);
    try {
      while (!peer.closed) {
        const n = await peer.conn.read(buf);
        if (n === null) break;
        for (const frame of decoder.push(buf.subarray(0, n))) {
          this.#onFrame(peer, frame);
          if (peer.closed) break;
        }
      }
    } catch {
      // reset, TLS failure, or a frame length that cannot be trusted
    } finally {
      peer.close();
    }
  }

  #onFrame(peer: Peer, frame: Uint8Array): void {
    this.#stats.frames++;
    let env, req;
    try {
      env = openEnvelope(frame, this.#header.length);
      req = packagerOf(this.opts.profile).unpack(env.message);
    } catch {
      this.#stats.malformed++;
      return;
    }
    const fault = req.mti === "0200" || req.mti === "0400" ? this.#faultFor(req.mti) : undefined;
    if (fault === "drop-before") return peer.close();
    let reply: Reply | undefined;
    try {
      reply = fault === "reject-mac"
        ? this.issuer.rejectMac(req)
        : this.issuer.handle(req, env.message);
    } catch (e) {
      if (!(e instanceof Iso8583Error)) throw e;
      this.#stats.malformed++;
      return;
    }
    if (!reply || fault === "timeout") return;
    if (fault === "drop-after") return peer.close();
    const out = this.#frameOf(reply, env.tpdu, env.header, fault === "bad-mac");
    if (fault === "late") {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#write(peer, out);
      }, this.#faults.lateMs);
      this.#timers.add(t);
      return;
    }
    this.#write(peer, out);
    if (fault === "duplicate") this.#write(peer, out);
  }

  #faultFor(mti: string): FaultKind | undefined {
    const n = ++this.#moneyRequests;
    if (!this.opts.schedule) return this.#faults.next();
    const f = this.opts.schedule(n, mti);
    if (f) this.#faults.applied[f]++;
    return f;
  }

  #frameOf(reply: Reply, tpdu: Uint8Array, header: Uint8Array, corrupt: boolean): Uint8Array {
    const packed = packagerOf(this.opts.profile).pack(reply.msg);
    if (reply.mak && reply.msg.fields.has(64)) {
      signPacked(packed, this.opts.profile.mac, reply.mak);
      if (corrupt) packed[packed.length - 1] ^= 0x01;
    }
    return frameOf(sealEnvelope(answerTpdu(tpdu), header, packed), this.opts.profile.maxFrameBytes);
  }

  #write(peer: Peer, frame: Uint8Array): void {
    if (peer.closed) return;
    this.#stats.answersSent++;
    peer.send(frame);
  }

  /** Stops listening, closes every connection and drops answers not yet sent. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const p of this.#peers) p.close();
    await this.#accepting;
    await Promise.all([...this.#loops]);
  }
}
