/**
 * The PAN-bearing evidence of an archive, sealed per record for the auditors (docs/archive.md,
 * "PANs and tag 57"). Pure WebCrypto and @noble/curves, so the browser audit opens it too.
 *
 * - The day's **evidence key** (AES-256-GCM) is derived by the operator with HKDF-SHA256 from
 *   the store's card-data key (`data` usage) and the day; it is never stored or shown.
 * - It reaches each auditor **wrapped to the auditor's P-256 public key**: an ephemeral key
 *   pair e derived from the card-data key, the day and the auditor's key; the shared point
 *   x(e·A) through HKDF gives a wrapping key used once (zero IV). The auditor's private key
 *   recovers x(a·E) and so the evidence key. Nothing secret is ever handed over.
 * - Each record is sealed with AES-GCM under the evidence key; its 12-byte IV is the first
 *   bytes of HMAC-SHA256(nonce key, label ‖ ref ‖ SHA-256(plaintext)), the nonce key derived
 *   from the evidence key. So archiving a day twice gives the same bytes, and an IV repeats
 *   only for the same record with the same plaintext (the same ciphertext then) or on a
 *   96-bit HMAC collision. The AAD (`day`, `ref`) ties a sealed blob to its record.
 */
import { p256 } from "@noble/curves/nist.js";
import { decodeBase64, encodeBase64 } from "../../kernel-as/base64.ts";
import { sha256 } from "../../kernel-as/sym.ts";
import { fromHex, toHex } from "../hex.ts";
import { sha256Hex } from "./format.ts";
import type { Recipient } from "./format.ts";

const enc = new TextEncoder();
const LABEL = "icfare-archive/1";
const ZERO_IV = new Uint8Array(12);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

async function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, bytes: number) {
  const k = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, [
    "deriveBits",
  ]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: salt as BufferSource, info: enc.encode(info) },
      k,
      bytes * 8,
    ),
  );
}

function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** The KCV of an auditor's public key: SHA-256 of `04 ‖ x ‖ y`, leftmost 3 bytes. */
export function auditorKcv(publicKey: Uint8Array): string {
  return sha256Hex(publicKey).slice(0, 6).toUpperCase();
}

/** Checks an auditor public key (uncompressed P-256 point); throws RangeError otherwise. */
export function checkAuditorPublicKey(publicKey: Uint8Array): void {
  if (publicKey.length !== 65 || publicKey[0] !== 4 || !p256.utils.isValidPublicKey(publicKey)) {
    throw new RangeError("an auditor public key is an uncompressed P-256 point (04 ‖ x ‖ y)");
  }
}

/** A new auditor key pair (the auditor makes it; the private key never leaves them). */
export function newAuditorKey(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = p256.utils.randomSecretKey();
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
}

/** The public key of an auditor's private key (uncompressed). */
export function auditorPublicKey(privateKey: Uint8Array): Uint8Array {
  if (!p256.utils.isValidSecretKey(privateKey)) throw new RangeError("not a P-256 private key");
  return p256.getPublicKey(privateKey, false);
}

async function wrappingKey(shared: Uint8Array, eph: Uint8Array, pub: Uint8Array, day: string) {
  return aesKey(await hkdf(shared.subarray(1), concat(eph, pub), `${LABEL} wrap ${day}`, 32));
}

/** Opens and seals the records of one day under its evidence key. */
export class EvidenceKey {
  private constructor(
    readonly day: string,
    private readonly aes: CryptoKey,
    private readonly nonce: CryptoKey,
  ) {}

  /** From the evidence key's bytes (zeroed by the caller). */
  static async fromRaw(day: string, raw: Uint8Array): Promise<EvidenceKey> {
    const nk = await hkdf(raw, new Uint8Array(0), `${LABEL} nonce key`, 32);
    const nonce = await crypto.subtle.importKey(
      "raw",
      nk as BufferSource,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    nk.fill(0);
    return new EvidenceKey(day, await aesKey(raw), nonce);
  }

  #aad(ref: string): Uint8Array {
    return enc.encode(`${LABEL} R ${this.day} ${ref}`);
  }

  /** base64(IV ‖ ciphertext ‖ tag) of `plain` for record `ref`. */
  async seal(ref: string, plain: Uint8Array): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      this.nonce,
      concat(enc.encode(`${LABEL} nonce\u0000${ref}\u0000`), sha256(plain)) as BufferSource,
    );
    const iv = new Uint8Array(mac).slice(0, 12);
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: this.#aad(ref) as BufferSource },
      this.aes,
      plain as BufferSource,
    );
    return encodeBase64(concat(iv, new Uint8Array(ct)));
  }

  /** The plaintext of a sealed record, or null when it does not open (altered, moved, key). */
  async open(ref: string, sealed: string): Promise<Uint8Array | null> {
    let b: Uint8Array;
    try {
      b = decodeBase64(sealed);
    } catch {
      return null;
    }
    if (b.length < 28) return null;
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: b.slice(0, 12) as BufferSource,
            additionalData: this.#aad(ref) as BufferSource,
          },
          this.aes,
          b.slice(12) as BufferSource,
        ),
      );
    } catch {
      return null;
    }
  }
}

/**
 * The operator's side: the day's evidence key from the card-data key, and a recipient entry
 * for each auditor public key (sorted by KCV, so the header's bytes do not depend on order).
 */
export async function sealForAuditors(
  dataKey: Uint8Array,
  day: string,
  auditors: readonly Uint8Array[],
): Promise<{ key: EvidenceKey; recipients: Recipient[] }> {
  const salt = enc.encode(`${LABEL} ${day}`);
  const raw = await hkdf(dataKey, salt, `${LABEL} evidence key`, 32);
  try {
    const recipients: Recipient[] = [];
    const sorted = [...auditors].sort((a, b) => auditorKcv(a) < auditorKcv(b) ? -1 : 1);
    for (const pub of sorted) {
      checkAuditorPublicKey(pub);
      const seed = await hkdf(dataKey, salt, `${LABEL} ephemeral ${toHex(pub)}`, 48);
      const e = p256.utils.randomSecretKey(seed); // hashed to a scalar in [1, n-1]
      const ephPub = p256.getPublicKey(e, false);
      const wk = await wrappingKey(p256.getSharedSecret(e, pub), ephPub, pub, day);
      e.fill(0);
      const wrapped = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: ZERO_IV, additionalData: salt as BufferSource },
        wk,
        raw as BufferSource,
      );
      recipients.push({
        publicKey: toHex(pub),
        kcv: auditorKcv(pub),
        ephemeral: toHex(ephPub),
        wrapped: toHex(new Uint8Array(wrapped)),
      });
    }
    return { key: await EvidenceKey.fromRaw(day, raw), recipients };
  } finally {
    raw.fill(0);
  }
}

/**
 * The auditor's side: the day's evidence key from their private key and the recipient entry
 * for their public key; null when the archive was not sealed for them or the entry is altered.
 */
export async function openForAuditor(
  privateKey: Uint8Array,
  day: string,
  recipients: readonly Recipient[],
): Promise<EvidenceKey | null> {
  const pub = toHex(auditorPublicKey(privateKey));
  const r = recipients.find((x) => x.publicKey === pub);
  if (!r) return null;
  try {
    const eph = fromHex(r.ephemeral, "ephemeral");
    const wk = await wrappingKey(
      p256.getSharedSecret(privateKey, eph),
      eph,
      fromHex(pub),
      day,
    );
    const raw = new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: ZERO_IV,
          additionalData: enc.encode(`${LABEL} ${day}`) as BufferSource,
        },
        wk,
        fromHex(r.wrapped, "wrapped") as BufferSource,
      ),
    );
    try {
      return await EvidenceKey.fromRaw(day, raw);
    } finally {
      raw.fill(0);
    }
  } catch {
    return null;
  }
}
