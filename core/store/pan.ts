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
import { maskPan } from "../mask.ts";
import { fromHex } from "../hex.ts";

/** What the store needs to protect card data. */
export interface PanProtector {
  /** HMAC-SHA256(pan-hash key, PAN digits ‖ "/" ‖ PSN two digits): the card's identity. */
  hash(pan: string, psn: string): Promise<Uint8Array>;
  /** First 6 and last 4 digits, the rest '*'. */
  mask(pan: string): string;
  /** Encrypts bytes that contain card data; `aad` binds the ciphertext to its row. */
  seal(plain: Uint8Array, aad: string): Promise<Uint8Array>;
  /** Reverses `seal`; throws when the ciphertext or its binding was altered. */
  open(sealed: Uint8Array, aad: string): Promise<Uint8Array>;
}

const enc = new TextEncoder();
const SEAL_VERSION = 1;

/** HMAC-SHA256(pan-hash key, PAN digits ‖ "/" ‖ PSN two digits): the card's identity. */
export async function panHash(hashKey: CryptoKey, pan: string, psn: string): Promise<Uint8Array> {
  if (!/^[0-9]{12,19}$/.test(pan)) throw new RangeError("pan must be 12..19 digits");
  if (!/^[0-9]{2}$/.test(psn)) throw new RangeError("psn must be 2 digits");
  return new Uint8Array(await crypto.subtle.sign("HMAC", hashKey, enc.encode(`${pan}/${psn}`)));
}

/**
 * Interim protector from two 32-byte keys (hex). Keys become non-extractable WebCrypto keys.
 * Sealed form: version byte ‖ 12-byte random IV ‖ AES-GCM ciphertext and tag.
 */
export class DevPanProtector implements PanProtector {
  private constructor(private readonly hashKey: CryptoKey, private readonly dataKey: CryptoKey) {}

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
    const hashKey = await crypto.subtle.importKey(
      "raw",
      hk as BufferSource,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const dataKey = await crypto.subtle.importKey("raw", dk as BufferSource, "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
    return new DevPanProtector(hashKey, dataKey);
  }

  hash(pan: string, psn: string): Promise<Uint8Array> {
    return panHash(this.hashKey, pan, psn);
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
