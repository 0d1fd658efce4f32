/**
 * The deny list as terminals receive it (docs/denylist.md, "The signed list"): the full list or
 * the changes after a version, with two digests and a signature by the deny-list signing key,
 * so a terminal checks what it downloads — and what it keeps offline — with the public key
 * alone.
 *
 * Signed bytes M (all integers unsigned big-endian):
 *
 * | bytes | field |
 * | ----- | ----- |
 * | 6     | `49 43 46 44 4C 31`, ASCII `ICFDL1` |
 * | 4     | `version`: the list version this answer brings the terminal to |
 * | 4     | `since`: the version the changes start from (0 for a full list) |
 * | 1     | `full`: `01` full list, `00` changes |
 * | 4     | number of entries |
 * | 32    | entries digest: SHA-256 of the entries, each `action ‖ card ‖ version ‖ len ‖ reason` |
 * | 32    | list digest: SHA-256 of the 32-byte card hashes of every card listed at `version`, in ascending byte order (SHA-256 of nothing when empty) |
 *
 * An entry: action 1 byte (`41` "A" add, `52` "R" remove), card 32 bytes, version 4 bytes,
 * reason length 1 byte, reason in ASCII.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { fromHex, toHex } from "../hex.ts";
import type { Signer } from "../keys/signing.ts";
import type { JournalDenyList, ListChange } from "./journal.ts";

/** One entry as served. */
export interface DenyEntry {
  /** Hex keyed hash of PAN and PSN (the card's identity, docs/denylist.md). */
  readonly card: string;
  readonly reason: string;
  readonly action: "add" | "remove";
  /** The list version at which this card changed. */
  readonly version: number;
}

/** The list before its signature: what the store answers. */
export interface UnsignedList {
  readonly version: number;
  readonly since: number;
  readonly full: boolean;
  readonly entries: DenyEntry[];
  /** SHA-256 of the cards listed at `version` (hex). */
  readonly listDigest: string;
}

/** The list as served: digests and the signature. */
export interface SignedList extends UnsignedList {
  readonly entriesDigest: string;
  readonly signature: {
    readonly keyId: string;
    readonly algorithm: "sm2" | "ecdsa-p256";
    /** KCV of the public key that verifies (docs/keys.md, "Signing keys"). */
    readonly kcv: string;
    /** `r ‖ s`, 64 bytes, hex. */
    readonly value: string;
  };
}

/** Magic of the signed bytes, ASCII "ICFDL1". */
export const MAGIC = new TextEncoder().encode("ICFDL1");

const UINT32_MAX = 0xFFFF_FFFF;

function u32(n: number, what: string): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > UINT32_MAX) throw new RangeError(`${what}: ${n}`);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xFF, (n >>> 8) & 0xFF, n & 0xFF);
}

/** SHA-256 of the 32-byte card hashes, sorted ascending (hex). */
export function listDigest(cardHashes: readonly string[]): string {
  const sorted = cardHashes.map((c) => c.toUpperCase()).sort();
  const h = createHash("sha256");
  for (const c of sorted) h.update(fromHex(c, "card"));
  return toHex(new Uint8Array(h.digest()));
}

/** SHA-256 of the entries in the order served (hex). */
export function entriesDigest(entries: readonly DenyEntry[]): string {
  const h = createHash("sha256");
  for (const e of entries) {
    const reason = new TextEncoder().encode(e.reason);
    if (reason.length > 255 || /[^\x20-\x7E]/.test(e.reason)) {
      throw new RangeError(`reason: printable ASCII, at most 255 characters`);
    }
    const card = fromHex(e.card, "card");
    if (card.length !== 32) throw new RangeError("card: 32 bytes");
    h.update(Uint8Array.of(e.action === "add" ? 0x41 : 0x52));
    h.update(card);
    h.update(u32(e.version, "entry version"));
    h.update(Uint8Array.of(reason.length));
    h.update(reason);
  }
  return toHex(new Uint8Array(h.digest()));
}

/** The signed bytes M of a list (see the table above). */
export function signedBytes(l: UnsignedList & { entriesDigest: string }): Uint8Array {
  const parts = [
    MAGIC,
    u32(l.version, "version"),
    u32(l.since, "since"),
    Uint8Array.of(l.full ? 1 : 0),
    u32(l.entries.length, "entry count"),
    fromHex(l.entriesDigest, "entriesDigest"),
    fromHex(l.listDigest, "listDigest"),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

/**
 * The list a holder of version `since` needs, read on one snapshot: the full list when `since`
 * is 0 or newer than the list (a terminal that lost its state), else the changes after it.
 */
export function unsignedList(dl: JournalDenyList, since: number): UnsignedList {
  return dl.read(() => {
    const full = since === 0 || since > dl.version();
    return listOf(
      since,
      full,
      dl.changesSince(full ? 0 : since),
      dl.cards().map((c) => c.cardHash),
    );
  });
}

/**
 * The list from what one snapshot read (any store): `full` when `since` is 0 or newer than the
 * list, the changes after `since` (or every listed card when full) and the cards listed now.
 */
export function listOf(
  since: number,
  full: boolean,
  read: { version: number; changes: readonly ListChange[] },
  listedCards: readonly string[],
): UnsignedList {
  return {
    version: read.version,
    since: full ? 0 : since,
    full,
    entries: read.changes.map((c) => ({
      card: c.cardHash,
      reason: c.reason,
      action: c.action,
      version: c.version,
    })),
    listDigest: listDigest(listedCards),
  };
}

/** Signs a list with the deny-list signer. */
export function signList(l: UnsignedList, signer: Signer): SignedList {
  const withDigest = { ...l, entriesDigest: entriesDigest(l.entries) };
  const sig = signer.sign(signedBytes(withDigest));
  return {
    ...withDigest,
    signature: {
      keyId: signer.info.keyId,
      algorithm: signer.info.algorithm,
      kcv: signer.info.kcv,
      value: toHex(sig),
    },
  };
}

const HEX64 = /^[0-9A-F]{64}$/;

/** The served list's schema (the OpenAPI document is generated from it). */
export const SignedListSchema = z.object({
  version: z.int().min(0),
  since: z.int().min(0),
  full: z.boolean(),
  entries: z.array(z.object({
    card: z.string().regex(HEX64).describe("hex keyed hash of PAN and PSN (32 bytes)"),
    reason: z.string(),
    action: z.enum(["add", "remove"]),
    version: z.int().min(1),
  })),
  listDigest: z.string().regex(HEX64).describe("SHA-256 of the listed cards, sorted"),
  entriesDigest: z.string().regex(HEX64).describe("SHA-256 of the entries as served"),
  signature: z.object({
    keyId: z.string(),
    algorithm: z.enum(["sm2", "ecdsa-p256"]),
    kcv: z.string().describe("KCV of the public key: SHA-256(04||x||y), leftmost 3 bytes"),
    value: z.string().regex(/^[0-9A-F]{128}$/).describe("r||s"),
  }),
}).describe("signed by the deny-list signing key over the bytes of docs/denylist.md");

/** The deny-list public key as served at `/v1/denylist/key`. */
export const DenyListKeySchema = z.object({
  keyId: z.string(),
  algorithm: z.enum(["sm2", "ecdsa-p256"]),
  publicKey: z.string().regex(/^04[0-9A-F]{128}$/).describe("uncompressed point 04||x||y"),
  kcv: z.string(),
  kcvMethod: z.literal("public"),
  userId: z.string().optional().describe("SM2 only: the user ID of Z (1234567812345678)"),
}).describe("answer signed: X-Icfare-Signature = hex HMAC-SHA256(terminal key, body bytes)");
