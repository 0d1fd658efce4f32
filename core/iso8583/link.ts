/**
 * The acquirer link client (docs/iso8583.md, "Link" and "Exactly once"): sign-on with
 * working keys checked against their check values, the 0200 deferred authorisation, the
 * 0400 reversal and the paged deny-list download, each answer's MAC checked and its meaning
 * reduced to one outcome. STANs come from the caller; nothing is persisted here — the
 * `beforeSend` hook of every money message is awaited before a byte leaves, so the caller
 * can make its state durable first (and nothing is sent when the hook throws).
 */
import { Iso8583Error } from "./errors.ts";
import type { IsoMessage } from "./codec.ts";
import { type AcquirerProfile, envelopeBytes, packagerOf } from "./profile.ts";
import { signPacked, verifyPacked } from "./mac.ts";
import type { WorkingKeys } from "./keys.ts";
import {
  answerMti,
  type AuthRequest,
  buildAuth,
  buildDenyListRequest,
  buildReversal,
  buildSignOn,
  type ReversalReason,
} from "./messages.ts";
import {
  type AuthAnswer,
  type DenyListEntry,
  readAuthAnswer,
  readDenyListPage,
  readReversalAnswer,
  readSignOnAnswer,
} from "./answers.ts";
import {
  type Endpoint,
  type Exchanged,
  matchKey,
  Transport,
  type TransportStats,
} from "./transport.ts";

/** Lends the terminal master key for the length of `fn` (e.g. `KeyStore.withKey`). */
export interface TmkSource {
  withTmk<T>(fn: (tmk: Uint8Array) => T): T;
}

export interface LinkOptions extends Endpoint {
  readonly profile: AcquirerProfile;
  /** The terminal icfare signs on as: field 41 (8) and field 42 (15). */
  readonly terminalId: string;
  readonly merchantId: string;
  /** How long to wait for each answer. */
  readonly timeoutMs: number;
  readonly tmk: TmkSource;
}

/** A 0200/0400 request: the tap's data; terminal and batch come from the link. */
export type AuthInput = Omit<AuthRequest, "terminalId" | "merchantId" | "batchNo">;

/** Called and awaited before the bytes leave; nothing is sent if it throws. */
export type BeforeSend = (sending: { mti: string; stan: string }) => Promise<void>;

/** Why an outcome is not known. */
export type UnknownReason = "timeout" | "disconnected" | "bad-mac" | "no-mac" | "response-code";

/** The result of one 0200. */
export type AuthResult =
  | {
    readonly outcome: "approved" | "declined" | "refused";
    readonly stan: string;
    readonly answer: AuthAnswer;
  }
  | {
    /** The charge may stand: reverse with `reverseWith` before anything else. */
    readonly outcome: "unknown";
    readonly stan: string;
    readonly reason: UnknownReason;
    readonly reverseWith: ReversalReason;
    readonly answer?: AuthAnswer;
  }
  | {
    /** Nothing left (the hook was not called): the request can be made again. */
    readonly outcome: "not-sent";
    readonly stan: string;
    readonly reason: "unreachable" | "not-signed-on";
  };

/** The result of one 0400. */
export type ReversalResult =
  | { readonly outcome: "reversed"; readonly stan: string; readonly responseCode: string }
  | {
    readonly outcome: "unknown";
    readonly stan: string;
    readonly reason: UnknownReason;
    readonly responseCode?: string;
  }
  | {
    readonly outcome: "not-sent";
    readonly stan: string;
    readonly reason: "unreachable" | "not-signed-on";
  };

/** The result of a sign-on. */
export type SignOnResult =
  | { readonly ok: true; readonly batchNo: string }
  | { readonly ok: false; readonly responseCode?: string; readonly reason?: string };

/** Counters of the link (transport counters plus MAC failures). */
export interface LinkStats extends TransportStats {
  badMac: number;
}

/** A client of one acquirer host, signed on as one terminal. */
export class AcquirerLink {
  readonly profile: AcquirerProfile;
  readonly #opts: LinkOptions;
  readonly #transport: Transport;
  #keys: WorkingKeys | undefined;
  /** Keys of requests still in flight (their answers are MAC'd under them), and how many. */
  readonly #inFlight = new Map<WorkingKeys, number>();
  /** Keys replaced by a new sign-on, wiped when their last request is answered. */
  readonly #retired = new Set<WorkingKeys>();
  #batchNo: string | undefined;
  #badMac = 0;

  constructor(opts: LinkOptions) {
    this.#opts = opts;
    this.profile = opts.profile;
    this.#transport = new Transport(
      opts,
      packagerOf(opts.profile),
      envelopeBytes(opts.profile),
      opts.profile.maxFrameBytes,
    );
  }

  /** True after a successful sign-on, until an answer asks for a new one. */
  get signedOn(): boolean {
    return this.#keys !== undefined;
  }

  /** The batch number of the last sign-on (60.2). */
  get batchNo(): string | undefined {
    return this.#batchNo;
  }

  get stats(): LinkStats {
    return { ...this.#transport.stats, badMac: this.#badMac };
  }

  #identity() {
    return {
      terminalId: this.#opts.terminalId,
      merchantId: this.#opts.merchantId,
      batchNo: this.#batchNo ?? "000001",
    };
  }

  /**
   * Drops the working keys. Requests sent under them and not yet answered keep them until their
   * answers are checked (the host MACs those under the keys it checked the request with), then
   * they are wiped; keys nobody waits on are wiped at once.
   */
  #forgetKeys(): void {
    const k = this.#keys;
    this.#keys = undefined;
    if (!k) return;
    if (this.#inFlight.has(k)) this.#retired.add(k);
    else k.wipe();
  }

  /** Runs `f` with the current keys held for the length of one exchange. */
  async #withKeys<T>(f: (keys: WorkingKeys) => Promise<T>): Promise<T> {
    const k = this.#keys!;
    this.#inFlight.set(k, (this.#inFlight.get(k) ?? 0) + 1);
    try {
      return await f(k);
    } finally {
      const n = this.#inFlight.get(k)! - 1;
      if (n > 0) this.#inFlight.set(k, n);
      else {
        this.#inFlight.delete(k);
        if (this.#retired.delete(k)) k.wipe();
      }
    }
  }

  async #send(
    msg: IsoMessage,
    mac: WorkingKeys | undefined,
    hook?: () => Promise<void>,
  ): Promise<Exchanged> {
    const packed = packagerOf(this.profile).pack(msg);
    if (mac) signPacked(packed, this.profile.mac, mac.mak);
    const stan = msg.fields.get(11) as string;
    const key = matchKey(answerMti(msg.mti), stan, this.#opts.terminalId);
    return await this.#transport.exchange(packed, key, this.#opts.timeoutMs, hook);
  }

  /** Checks the MAC of an answer as the profile asks; undefined when it is acceptable. */
  #macProblem(
    raw: Uint8Array,
    msg: IsoMessage,
    code: string,
    keys: WorkingKeys,
  ): "bad-mac" | "no-mac" | undefined {
    if (!msg.fields.has(64)) {
      return this.profile.responseMac === "all" || code === "00" ? "no-mac" : undefined;
    }
    if (!verifyPacked(raw, this.profile.mac, keys.mak)) {
      this.#badMac++;
      return "bad-mac";
    }
    return undefined;
  }

  /** Signs on (0800, no MAC): the 0810's working keys are checked and kept in memory. */
  async signOn(stan: string, terminalInfo?: string): Promise<SignOnResult> {
    const msg = buildSignOn(this.profile, {
      ...this.#identity(),
      stan,
      ...(terminalInfo !== undefined ? { terminalInfo } : {}),
    });
    const x = await this.#send(msg, undefined);
    if (x.kind !== "answer") return { ok: false, reason: x.kind };
    const a = this.#opts.tmk.withTmk((tmk) => readSignOnAnswer(this.profile, x.answer.msg, tmk));
    if (!a.keys) return { ok: false, responseCode: a.responseCode };
    this.#forgetKeys();
    this.#keys = a.keys;
    this.#batchNo = a.batchNo;
    return { ok: true, batchNo: a.batchNo! };
  }

  /**
   * Sends the 0200 deferred authorisation of one tap. `beforeSend` runs after the link is
   * connected and before the request is written: persist the STAN and "sent" there.
   */
  async authorize(req: AuthInput, beforeSend?: BeforeSend): Promise<AuthResult> {
    const stan = req.stan;
    if (!this.#keys) return { outcome: "not-sent", stan, reason: "not-signed-on" };
    const msg = buildAuth(this.profile, { ...req, ...this.#identity() });
    const hook = beforeSend && (() => beforeSend({ mti: "0200", stan }));
    return await this.#withKeys(async (keys): Promise<AuthResult> => {
      const x = await this.#send(msg, keys, hook);
      if (x.kind === "unreachable") return { outcome: "not-sent", stan, reason: "unreachable" };
      if (x.kind !== "answer") {
        return { outcome: "unknown", stan, reason: x.kind, reverseWith: "98" };
      }
      const answer = readAuthAnswer(x.answer.msg);
      const problem = this.#macProblem(x.answer.raw, x.answer.msg, answer.responseCode, keys);
      if (problem) return { outcome: "unknown", stan, reason: problem, reverseWith: "A0", answer };
      // A request sent under keys a sign-on has replaced does not drop the new ones.
      if (answer.signOn && keys === this.#keys) this.#forgetKeys();
      if (answer.disposition === "unknown") {
        return { outcome: "unknown", stan, reason: "response-code", reverseWith: "98", answer };
      }
      return { outcome: answer.disposition, stan, answer };
    });
  }

  /**
   * Sends the 0400 reversal of the 0200 built from `req` (same STAN). Safe to repeat: the
   * host applies a reversal once. `beforeSend`: persist "reversing" there.
   */
  async reverse(
    req: AuthInput,
    reason: ReversalReason,
    beforeSend?: BeforeSend,
  ): Promise<ReversalResult> {
    const stan = req.stan;
    if (!this.#keys) return { outcome: "not-sent", stan, reason: "not-signed-on" };
    const msg = buildReversal(this.profile, { ...req, ...this.#identity() }, reason);
    const hook = beforeSend && (() => beforeSend({ mti: "0400", stan }));
    return await this.#withKeys(async (keys): Promise<ReversalResult> => {
      const x = await this.#send(msg, keys, hook);
      if (x.kind === "unreachable") return { outcome: "not-sent", stan, reason: "unreachable" };
      if (x.kind !== "answer") return { outcome: "unknown", stan, reason: x.kind };
      const a = readReversalAnswer(x.answer.msg);
      const code = a.reversed ? "00" : a.responseCode;
      const problem = this.#macProblem(x.answer.raw, x.answer.msg, code, keys);
      if (problem) {
        return { outcome: "unknown", stan, reason: problem, responseCode: a.responseCode };
      }
      if (!a.reversed) {
        const again = ["97", "99", "A0"].includes(a.responseCode);
        if (again && keys === this.#keys) this.#forgetKeys();
        return { outcome: "unknown", stan, reason: "response-code", responseCode: a.responseCode };
      }
      return { outcome: "reversed", stan, responseCode: a.responseCode };
    });
  }

  /**
   * Downloads the ODA deny list page by page (0800, 60.3 `570`), from `cursor` until the host
   * says the last page; `nextStan` gives each request's STAN. Returns the entries (PANs in
   * memory only) and the cursor to start from next time.
   */
  async downloadDenyList(
    nextStan: () => string,
    cursor = "0000000000",
    maxPages = 1000,
  ): Promise<{ entries: DenyListEntry[]; cursor: string; pages: number }> {
    const entries: DenyListEntry[] = [];
    for (let pages = 1; pages <= maxPages; pages++) {
      const msg = buildDenyListRequest(this.profile, {
        ...this.#identity(),
        stan: nextStan(),
        cursor,
      });
      const x = await this.#send(msg, undefined);
      if (x.kind !== "answer") {
        throw new Iso8583Error("ISO8583_LINK", `deny-list page ${pages}: ${x.kind}`);
      }
      const page = readDenyListPage(x.answer.msg);
      if (page.responseCode !== "00") {
        throw new Iso8583Error(
          "ISO8583_RESPONSE",
          `deny-list page ${pages}: response ${page.responseCode}`,
        );
      }
      entries.push(...page.entries);
      if (page.cursor) cursor = page.cursor;
      if (page.last) return { entries, cursor, pages };
    }
    throw new Iso8583Error("ISO8583_LINK", `deny list: more than ${maxPages} pages`);
  }

  /** Closes the connection and wipes the working keys. */
  async close(): Promise<void> {
    this.#forgetKeys();
    for (const k of this.#retired) k.wipe();
    this.#retired.clear();
    await this.#transport.close();
  }
}
