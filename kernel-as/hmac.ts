/**
 * HMAC-SHA-256 (RFC 2104, FIPS 198-1) of many messages under one key, over the kernel's batched
 * SHA-256 (`hashBatch` in `sym.ts`): the upload server's card hashes, 50 a batch, in two kernel
 * calls rather than one asynchronous WebCrypto call each (docs/performance.md, "Upload server
 * load"). Vectors: RFC 4231 (`fixtures/vectors/hmac_sha256.json`), cross-checked with node:crypto.
 */
import { hashBatch, sha256, SymError } from "./sym.ts";

const BLOCK = 64;
const DIGEST = 32;

/** The key padded to a block and XORed with `pad` (0x36 ipad, 0x5c opad; RFC 2104 §2). */
function padded(key: Uint8Array, pad: number): Uint8Array {
  const b = new Uint8Array(BLOCK).fill(pad);
  for (let i = 0; i < key.length; i++) b[i] ^= key[i];
  return b;
}

/**
 * HMAC-SHA-256 of every message under `key`, in two batched kernel passes: SHA-256((K ⊕ ipad) ‖
 * mᵢ) for every message, then SHA-256((K ⊕ opad) ‖ innerᵢ). A key longer than the 64-byte block
 * is hashed first. Returns the MACs back to back, 32 bytes each (MAC `i` at `32 × i`). The padded
 * keys exist only inside this call and are zeroed before it returns; `key` is left as it was.
 */
export function hmacSha256Batch(key: Uint8Array, messages: readonly Uint8Array[]): Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new SymError("SYM_ARGUMENT", `key must be a Uint8Array, got ${typeof key}`);
  }
  if (!Array.isArray(messages)) throw new SymError("SYM_ARGUMENT", "messages must be an array");
  const k = key.length > BLOCK ? sha256(key) : key;
  const ipad = padded(k, 0x36), opad = padded(k, 0x5c);
  if (k !== key) k.fill(0);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    if (!(messages[i] instanceof Uint8Array)) {
      throw new SymError("SYM_ARGUMENT", `messages[${i}] must be a Uint8Array`);
    }
    total += BLOCK + messages[i].length;
  }
  // One buffer holds every inner message, another every outer one; the kernel reads views.
  const inner = new Uint8Array(total);
  const outer = new Uint8Array(messages.length * (BLOCK + DIGEST));
  const views: Uint8Array[] = new Array(messages.length);
  try {
    let at = 0;
    for (let i = 0; i < messages.length; i++) {
      inner.set(ipad, at);
      inner.set(messages[i], at + BLOCK);
      views[i] = inner.subarray(at, at += BLOCK + messages[i].length);
    }
    const innerHashes = hashBatch("sha256", views);
    for (let i = 0; i < messages.length; i++) {
      const o = i * (BLOCK + DIGEST);
      outer.set(opad, o);
      outer.set(innerHashes.subarray(DIGEST * i, DIGEST * (i + 1)), o + BLOCK);
      views[i] = outer.subarray(o, o + BLOCK + DIGEST);
    }
    innerHashes.fill(0);
    return hashBatch("sha256", views);
  } finally {
    for (const b of [ipad, opad, inner, outer]) b.fill(0);
  }
}
