/**
 * Synthetic ODA taps for exercising the acquirer link without a whole simulated day
 * (tests, benchmark, `simulate-acquirer` smoke runs): a UnionPay-looking PAN with its Luhn
 * digit, PSN, ATC, track-2 equivalent and the chip data a qPBOC terminal keeps (the AFC
 * FF56 tag set, docs/iso8583.md "Field 48 PA"). Test data only; the ARQC is random bytes.
 */
import { Rng } from "../prng.ts";
import { luhnCheckDigit } from "../luhn.ts";
import { encodePrimitives } from "../../core/tlv/encode.ts";
import { fromHex } from "../../core/hex.ts";
import type { AuthInput } from "../../core/iso8583/link.ts";

export interface SimTap {
  readonly pan: string;
  readonly psn: string;
  /** 9F36 as 4 hex digits. */
  readonly atc: string;
  /** YYMM. */
  readonly expiry: string;
  readonly track2: string;
  readonly iccData: Uint8Array;
  readonly amountFen: number;
  /** YYYYMMDDhhmmss. */
  readonly txnTime: string;
  readonly line: string;
  readonly vehicle: string;
}

function bcd(digits: string): Uint8Array {
  return fromHex(digits.length % 2 ? "0" + digits : digits);
}

/** `n` taps on `date` (YYYY-MM-DD) from `seed`; `expiredShare` of the cards are expired. */
export function syntheticTaps(seed: string, n: number, date = "2026-06-24", expiredShare = 0.02) {
  const rng = new Rng(seed, "acquirer-taps");
  const taps: SimTap[] = [];
  const yymmdd = date.slice(2, 4) + date.slice(5, 7) + date.slice(8, 10);
  for (let i = 0; i < n; i++) {
    const body = "621700" + String(rng.int(1e9)).padStart(9, "0");
    const pan = body + luhnCheckDigit(body);
    const expired = rng.chance(expiredShare);
    const expiry = expired
      ? "2512"
      : `${String(27 + rng.int(5))}${String(1 + rng.int(12)).padStart(2, "0")}`;
    const track2 = `${pan}D${expiry}220${String(rng.int(1e6)).padStart(6, "0")}`;
    const atc = (1 + rng.int(0xfffe)).toString(16).toUpperCase().padStart(4, "0");
    const amountFen = rng.pick([100, 200, 200, 200, 300]);
    const hh = String(6 + rng.int(16)).padStart(2, "0"), mm = String(rng.int(60)).padStart(2, "0");
    const iccData = encodePrimitives([
      ["9F26", rng.bytes(8)],
      ["9F27", Uint8Array.of(0x80)],
      ["9F10", fromHex("07010103A00000010A01000000000000000000")],
      ["9F37", rng.bytes(4)],
      ["9F36", fromHex(atc)],
      ["95", new Uint8Array(5)],
      ["9A", bcd(yymmdd)],
      ["9C", Uint8Array.of(0)],
      ["9F02", bcd(String(amountFen).padStart(12, "0"))],
      ["5F2A", fromHex("0156")],
      ["82", fromHex("7C00")],
      ["9F1A", fromHex("0156")],
      ["9F03", new Uint8Array(6)],
      ["9F33", fromHex("E0E1C8")],
      ["9F34", fromHex("000000")],
      ["9F35", Uint8Array.of(0x22)],
      ["9F1E", new TextEncoder().encode(`BUS${String(i % 100000).padStart(5, "0")}`)],
    ]);
    taps.push({
      pan,
      psn: "01",
      atc,
      expiry,
      track2,
      iccData,
      amountFen,
      txnTime: `${date.replaceAll("-", "")}${hh}${mm}00`,
      line: String(100 + rng.int(40)),
      vehicle: `LC${String(rng.int(10000)).padStart(4, "0")}`,
    });
  }
  return taps;
}

/** The link request for a tap with its freshly allocated STAN. */
export function authInputOf(tap: SimTap, stan: string): AuthInput {
  return {
    stan,
    amountFen: tap.amountFen,
    track2: tap.track2,
    psn: tap.psn,
    iccData: tap.iccData,
    pa: { txnTime: tap.txnTime, line: tap.line, vehicle: tap.vehicle, company: "LCGJ" },
  };
}
