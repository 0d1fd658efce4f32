/**
 * Card-data protection for the store (PCI DSS 3.4.1, 3.5.1.1; docs/reliability.md):
 * a PAN is kept only as a keyed hash (HMAC-SHA256 with the "pan-hash" key) plus its masked
 * form, and every byte string that still carries it (the raw batch, each record's chip data)
 * is sealed with AES-256-GCM before it reaches the database.
 *
 * The keys come through this interface: `DevPanProtector.fromCryptoKeys` takes them from the
 * key store; `DevPanProtector.fromHex` is the interim development path (keys in clear
 * hex, tests and demos only).
 */
import { hmacSha256Batch } from "../../kernel-as/mod.ts";
import { maskPan } from "../mask.ts";
import { fromHex } from "../hex.ts";

/** What the store needs to protect card data. */
export interface PanProtector {
  /** HMAC-SHA256(pan-hash key, PAN digits ‖ "/" ‖ PSN two digits): the card's identity. */
  hash(pan: string, psn: string): Promise<Uint8Array>;
  /** {@link hash} of many cards at once (an upload's batch): one result per card, in order. */
  hashCards(cards: readonly Card[]): Promise<Uint8Array[]>;
  /** First 6 and last 4 digits, the rest '*'. */
  mask(pan: string): string;
  /** Encrypts bytes that contain card data; `aad` binds the ciphertext to its row. */
  seal(plain: Uint8Array, aad: string): Promise<Uint8Array>;
  /** Reverses `seal`; throws when the ciphertext or its binding was altered. */
  open(sealed: Uint8Array, aad: string): Promise<Uint8Array>;
}

/** A card as the card hash names it: PAN digits and the two-digit PAN sequence number. */
export interface Card {
  readonly pan: string;
  readonly psn: string;
}

const enc = new TextEncoder();
const SEAL_VERSION = 1;

function cardMessage(pan: string, psn: string): Uint8Array {
  if (!/^[0-9]{12,19}$/.test(pan)) throw new RangeError("pan must be 12..19 digits");
  if (!/^[0-9]{2}$/.test(psn)) throw new RangeError("psn must be 2 digits");
  return enc.encode(`${pan}/${psn}`);
}

/** HMAC-SHA256(pan-hash key, PAN digits ‖ "/" ‖ PSN two digits): the card's identity. */
export async function panHash(hashKey: CryptoKey, pan: string, psn: string): Promise<Uint8Array> {
  const m = cardMessage(pan, psn);
  return new Uint8Array(await crypto.subtle.sign("HMAC", hashKey, m as BufferSource));
}

/**
 * {@link panHash} of many cards with the key's bytes, through the kernel's batched HMAC: two
 * kernel calls for a whole upload where WebCrypto takes one asynchronous call per card (≈ 33 µs
 * of CPU each against ≈ 2.4 µs with the checks; docs/performance.md, "Upload server load").
 */
export function panHashes(hashKey: Uint8Array, cards: readonly Card[]): Uint8Array[] {
  const macs = hmacSha256Batch(hashKey, cards.map((c) => cardMessage(c.pan, c.psn)));
  return cards.map((_, i) => macs.slice(32 * i, 32 * i + 32));
}

/**
 * Protector from the key store's keys, or from two 32-byte keys in hex (tests and demos). The
 * data key is a non-extractable WebCrypto key. The pan-hash key is either a non-extractable
 * WebCrypto key (one asynchronous call per card) or its bytes, held in a private field for the
 * life of the process and never written anywhere (`fromKeyBytes`: the upload server, which hashes
 * every card of every upload in one kernel call).
 * Sealed form: version byte ‖ 12-byte random IV ‖ AES-GCM ciphertext and tag.
 */
export class DevPanProtector implements PanProtector {
  readonly #hashKey: CryptoKey | Uint8Array;
  private constructor(hashKey: CryptoKey | Uint8Array, private readonly dataKey: CryptoKey) {
    this.#hashKey = hashKey;
  }

  /**
   * From the pan-hash key's bytes (`KeyStore.panHashKey()`, 32 bytes) and the key store's AES-GCM
   * key. The bytes are copied and the caller's copy zeroed.
   */
  static fromKeyBytes(panHashKey: Uint8Array, dataKey: CryptoKey): DevPanProtector {
    if (!(panHashKey instanceof Uint8Array) || panHashKey.length !== 32) {
      throw new TypeError("panHashKey must be 32 bytes");
    }
    if (dataKey.algorithm.name !== "AES-GCM") throw new TypeError("dataKey must be AES-GCM");
    const own = panHashKey.slice();
    panHashKey.fill(0);
    return new DevPanProtector(own, dataKey);
  }

  /**
   * From keys the key store hands out (`KeyStore.hmacCryptoKey("pan-hash")` and
   * `KeyStore.dataCryptoKey()`): an HMAC-SHA256 key allowed to sign, an AES-GCM key.
   */
  static fromCryptoKeys(panHashKey: CryptoKey, dataKey: CryptoKey): DevPanProtector {
    if (panHashKey.algorithm.name !== "HMAC" || !panHashKey.usages.includes("sign")) {
      throw new TypeError("panHashKey must be an HMAC key usable to sign");
    }
    if (dataKey.algorithm.name !== "AES-GCM") throw new TypeError("dataKey must be AES-GCM");
    return new DevPanProtector(panHashKey, dataKey);
  }

  /** Imports the keys; `panHashKeyHex` and `dataKeyHex` must each be 32 bytes of hex. */
  static async fromHex(panHashKeyHex: string, dataKeyHex: string): Promise<DevPanProtector> {
    const hk = fromHex(panHashKeyHex, "panHashKey");
    const dk = fromHex(dataKeyHex, "dataKey");
    if (hk.length !== 32) throw new RangeError(`panHashKey must be 32 bytes, got ${hk.length}`);
    if (dk.length !== 32) throw new RangeError(`dataKey must be 32 bytes, got ${dk.length}`);
    const dataKey = await crypto.subtle.importKey("raw", dk as BufferSource, "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
    return new DevPanProtector(hk, dataKey);
  }

  hash(pan: string, psn: string): Promise<Uint8Array> {
    const k = this.#hashKey;
    return k instanceof Uint8Array
      ? Promise.resolve().then(() => panHashes(k, [{ pan, psn }])[0])
      : panHash(k, pan, psn);
  }

  hashCards(cards: readonly Card[]): Promise<Uint8Array[]> {
    const k = this.#hashKey;
    return k instanceof Uint8Array
      ? Promise.resolve().then(() => panHashes(k, cards))
      : Promise.all(cards.map((c) => panHash(k, c.pan, c.psn)));
  }

  mask(pan: string): string {
    return maskPan(pan);
  }

  async seal(plain: Uint8Array, aad: string): Promise<Uint8Array> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: enc.encode(aad) },
        this.dataKey,
        plain as BufferSource,
      ),
    );
    const out = new Uint8Array(13 + ct.length);
    out[0] = SEAL_VERSION;
    out.set(iv, 1);
    out.set(ct, 13);
    return out;
  }

  open(sealed: Uint8Array, aad: string): Promise<Uint8Array> {
    return openSealed(this.dataKey, sealed, aad);
  }
}

/**
 * Opens a value sealed by `PanProtector.seal` with the card-data key (AES-GCM) alone; throws when
 * the ciphertext or its binding `aad` was altered.
 */
export async function openSealed(
  dataKey: CryptoKey,
  sealed: Uint8Array,
  aad: string,
): Promise<Uint8Array> {
  if (sealed.length < 29 || sealed[0] !== SEAL_VERSION) {
    throw new RangeError("sealed: not a version-1 sealed value");
  }
  return new Uint8Array(
    await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: sealed.subarray(1, 13) as BufferSource,
        additionalData: enc.encode(aad),
      },
      dataKey,
      sealed.subarray(13) as BufferSource,
    ),
  );
}
