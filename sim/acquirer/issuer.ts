/**
 * The simulated acquirer/issuer's answers (docs/iso8583.md, "Simulated host"): sign-on with
 * fresh working keys wrapped under the terminal's TMK, the 0200 answered from the truth
 * function with its MAC checked, the 0400 applied once, the deny list served in pages. Every
 * approval and reversal goes through the approval ledger. Faults are the host's (`host.ts`).
 */
import type { IsoMessage } from "../../core/iso8583/codec.ts";
import { Iso8583Error } from "../../core/iso8583/errors.ts";
import type { AcquirerProfile } from "../../core/iso8583/profile.ts";
import { verifyPacked } from "../../core/iso8583/mac.ts";
import { type KeyLayout, wrapWorkingKeys } from "../../core/iso8583/keys.ts";
import { decodePa } from "../../core/iso8583/pa.ts";
import { chipValues, track2Parts } from "../../core/iso8583/chip.ts";
import { field60Parts, textField } from "../../core/iso8583/messages.ts";
import {
  buildAuthAnswer,
  buildDenyListAnswer,
  buildSignOnAnswer,
  DENYLIST_PAGE_MAX,
  type DenyListEntry,
} from "../../core/iso8583/answers.ts";
import { toHex } from "../../core/hex.ts";
import type { IssuerTruth } from "./truth.ts";
import { type ApprovalLedger, tapKey } from "./ledger.ts";

export interface IssuerOptions {
  readonly profile: AcquirerProfile;
  /** The TMK of a terminal (test keys); undefined: the terminal is not registered. */
  readonly tmkOf: (terminalId: string) => Uint8Array | undefined;
  readonly truth: IssuerTruth;
  readonly clock: () => Date;
  /** Field 32 (digits). */
  readonly acquirerId: string;
  readonly denyList: () => readonly DenyListEntry[];
  readonly pageSize: number;
}

/** Counters of what the issuer did. */
export interface IssuerStats {
  signOns: number;
  approved: number;
  declined: number;
  refused: number;
  reversalsApplied: number;
  reversalsEmpty: number;
  macRejected: number;
  duplicates: number;
}

interface TerminalState {
  mak: Uint8Array;
  batch: number;
}

interface Txn {
  readonly tap: string;
  readonly approved: boolean;
  reversed: boolean;
}

/** An answer and whether its field 64 is to be signed (with the terminal's MAK). */
export interface Reply {
  readonly msg: IsoMessage;
  readonly mak?: Uint8Array;
}

export class SimIssuer {
  readonly stats: IssuerStats = {
    signOns: 0,
    approved: 0,
    declined: 0,
    refused: 0,
    reversalsApplied: 0,
    reversalsEmpty: 0,
    macRejected: 0,
    duplicates: 0,
  };
  readonly #terminals = new Map<string, TerminalState>();
  readonly #txns = new Map<string, Txn>();
  /** Reversals that came before (or without) their original: the original is void. */
  readonly #tombstones = new Set<string>();
  #rrn = 0;

  constructor(readonly opts: IssuerOptions, readonly ledger: ApprovalLedger) {}

  /** The answer to one request, or undefined when the host does not answer this MTI. */
  handle(req: IsoMessage, raw: Uint8Array): Reply | undefined {
    switch (req.mti) {
      case "0800":
        return this.#network(req);
      case "0200":
        return this.#authorise(req, raw);
      case "0400":
        return this.#reverse(req, raw);
      default:
        return undefined;
    }
  }

  /** The `A0` answer to a money request whose MAC the host refuses (fault `reject-mac`). */
  rejectMac(req: IsoMessage): Reply | undefined {
    if (req.mti !== "0200" && req.mti !== "0400") return this.handle(req, new Uint8Array(0));
    this.stats.macRejected++;
    return this.#answer(req, "A0");
  }

  #answer(req: IsoMessage, code: string, authCode?: string): Reply {
    const t = this.#terminals.get(textField(req, 41) ?? "");
    const mac = t !== undefined && (this.opts.profile.responseMac === "all" || code === "00");
    const msg = buildAuthAnswer(req, {
      responseCode: code,
      now: this.opts.clock(),
      rrn: String(++this.#rrn).padStart(12, "0"),
      acquirer: this.opts.acquirerId,
      ...(authCode ? { authCode } : {}),
      mac,
    });
    return mac ? { msg, mak: t!.mak } : { msg };
  }

  #macOk(req: IsoMessage, raw: Uint8Array): boolean {
    const t = this.#terminals.get(textField(req, 41) ?? "");
    if (t && req.fields.has(64) && verifyPacked(raw, this.opts.profile.mac, t.mak)) return true;
    this.stats.macRejected++;
    return false;
  }

  #tapOf(req: IsoMessage) {
    const f48 = req.fields.get(48);
    const chip = req.fields.get(55) ??
      (f48 instanceof Uint8Array ? decodePa(f48).iccData : undefined);
    const tags = chip instanceof Uint8Array
      ? chipValues(chip, "55")
      : new Map<string, Uint8Array>();
    const { pan, expiry } = track2Parts(textField(req, 35) ?? "");
    const atc = tags.get("9F36"), date = tags.get("9A");
    const psn = textField(req, 23);
    return {
      pan,
      expiry,
      ...(psn !== undefined ? { psn } : {}),
      ...(atc ? { atc: toHex(atc) } : {}),
      ...(date ? { txnDate: toHex(date) } : {}),
    };
  }

  #authorise(req: IsoMessage, raw: Uint8Array): Reply {
    if (!this.#macOk(req, raw)) return this.#answer(req, "A0");
    const key = `${textField(req, 41)}|${textField(req, 11)}`;
    if (this.#txns.has(key)) {
      this.stats.duplicates++;
      return this.#answer(req, "94");
    }
    if (this.#tombstones.has(key)) {
      this.stats.refused++;
      return this.#answer(req, "12");
    }
    let tap;
    try {
      tap = this.#tapOf(req);
    } catch (e) {
      if (!(e instanceof Iso8583Error)) throw e;
      this.stats.refused++;
      return this.#answer(req, "30");
    }
    const code = this.opts.truth({
      ...tap,
      amountFen: Number(textField(req, 4)),
      terminalId: textField(req, 41)!,
      stan: textField(req, 11)!,
    });
    const k = tapKey(tap.pan, tap.psn, tap.atc);
    const approved = code === "00";
    if (approved) {
      this.ledger.approve(k);
      this.stats.approved++;
    } else this.stats.declined++;
    this.#txns.set(key, { tap: k, approved, reversed: false });
    return this.#answer(req, code, approved ? String(this.#rrn % 1e6).padStart(6, "0") : undefined);
  }

  #reverse(req: IsoMessage, raw: Uint8Array): Reply {
    if (!this.#macOk(req, raw)) return this.#answer(req, "A0");
    const key = `${textField(req, 41)}|${textField(req, 11)}`;
    const t = this.#txns.get(key);
    if (!t) {
      this.#tombstones.add(key);
      this.stats.reversalsEmpty++;
      return this.#answer(req, "25");
    }
    if (t.approved && !t.reversed) {
      this.ledger.reverse(t.tap);
      this.stats.reversalsApplied++;
    }
    t.reversed = true;
    return this.#answer(req, "00");
  }

  #network(req: IsoMessage): Reply {
    const { code } = field60Parts(req.fields.get(60));
    if (code === "570") return this.#denyListPage(req);
    if (code === "301") return this.#signOnAnswer(req, "00");
    if (code !== "001" && code !== "003" && code !== "004") return this.#signOnAnswer(req, "40");
    return this.#signOn(req, code);
  }

  #signOnAnswer(req: IsoMessage, code: string, batch = 0, field62?: Uint8Array): Reply {
    return {
      msg: buildSignOnAnswer(req, {
        responseCode: code,
        now: this.opts.clock(),
        rrn: String(++this.#rrn).padStart(12, "0"),
        acquirer: this.opts.acquirerId,
        batchNo: String(batch).padStart(6, "0"),
        ...(field62 ? { field62 } : {}),
      }),
    };
  }

  #signOn(req: IsoMessage, code: "001" | "003" | "004"): Reply {
    const tid = textField(req, 41) ?? "";
    const tmk = this.opts.tmkOf(tid);
    if (!tmk) return this.#signOnAnswer(req, "97");
    const pl = this.opts.profile.keyLayout;
    const layout: KeyLayout = code === "001"
      ? "001"
      : code === "004"
      ? "004"
      : pl === "003-32"
      ? pl
      : "003";
    const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    const keys = { pik: rnd(layout === "001" ? 8 : 16), mak: rnd(8), tdk: rnd(16) };
    const field62 = wrapWorkingKeys(keys, layout, tmk);
    keys.pik.fill(0);
    keys.tdk.fill(0);
    const old = this.#terminals.get(tid);
    old?.mak.fill(0);
    const batch = (old?.batch ?? 0) + 1;
    this.#terminals.set(tid, { mak: keys.mak, batch });
    this.stats.signOns++;
    return this.#signOnAnswer(req, "00", batch, field62);
  }

  #denyListPage(req: IsoMessage): Reply {
    const f63 = textField(req, 63) ?? "";
    const cursor = f63.slice(8);
    if (f63.length !== 18 || !/^[0-9]{10}$/.test(cursor)) {
      return { msg: buildDenyListAnswer(req, "30") };
    }
    const all = this.opts.denyList();
    const size = Math.min(this.opts.pageSize, DENYLIST_PAGE_MAX);
    const start = Number(cursor);
    const entries = all.slice(start, start + size);
    const next = Math.min(start + size, all.length);
    return {
      msg: buildDenyListAnswer(req, "00", {
        last: next >= all.length,
        cursor: String(next).padStart(10, "0"),
        entries,
      }),
    };
  }
}
