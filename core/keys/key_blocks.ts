/**
 * Keys in and out as TR-31 / ANSI X9.143 key blocks under a key-encryption key of the store
 * (docs/keys.md, "Import/export"): import is lenient in parsing (version D or B, either hex
 * case, unknown optional blocks) and strict in what it stores (the header's usage must match);
 * export is strict (D under an AES KEK, B under TDES, the key exportable, the KEK at least as
 * strong, two officers).
 */
import { KeyStoreError } from "./errors.ts";
import { type KeyAlgorithm, matchKcv } from "./kcv.ts";
import {
  activeKey,
  ALGORITHM_CHAR,
  info,
  type KeyInfo,
  type KeySpec,
  keyStrengthBits,
  USAGES,
} from "./records.ts";
import { parseBlock, unwrap, wrap } from "./tr31.ts";
import type { Vault } from "./vault.ts";
import type { Delivery } from "./delivery.ts";

/** What a block import needs besides the block: the new key's id, usage and attributes. */
export type BlockImportSpec = Omit<KeySpec, "algorithm" | "exportable"> & { expectKcv?: string };

/** The icfare algorithm of a key block's algorithm character. */
function algorithmFromHeader(c: string, length: number): KeyAlgorithm {
  switch (c) {
    case "T":
      return "3des";
    case "D":
      return length === 8 ? "des" : "3des";
    case "A":
      return "aes";
    case "H":
      return "hmac-sha256";
    case "4":
      return "sm4";
  }
  const what = c === "R" ? "an RSA key" : c === "E" ? "an elliptic-curve key" : `algorithm "${c}"`;
  throw new KeyStoreError(
    "ALGORITHM_UNSUPPORTED",
    `the key block holds ${what}; the key store keeps DES, TDES, AES, SM4 and HMAC keys only`,
  );
}

/**
 * Imports a TR-31 key block (version D or B, lenient parsing) wrapped under the store's
 * key-encryption key `kekId`. The header's key usage must match `s.usage`; `s.expectKcv`,
 * when given, must match.
 */
export async function importBlock(
  v: Vault,
  block: string,
  kekId: string,
  s: BlockImportSpec,
): Promise<KeyInfo> {
  const r = await v.mutate("keys.import-block", (d) => {
    const kekRec = activeKey(d, kekId);
    if (kekRec.usage !== "kek") {
      throw new KeyStoreError("USAGE_MISMATCH", `${kekId} is a ${kekRec.usage} key, not a kek`);
    }
    // The structure first: a block that is not one is "malformed", whatever the KEK.
    const ver = parseBlock(block).header.version;
    const kek = v.unwrapRecord(kekRec);
    let u;
    try {
      if ((ver === "D") !== (kekRec.algorithm === "aes")) {
        throw new KeyStoreError(
          "USAGE_MISMATCH",
          `a version ${ver} block needs a ${
            ver === "D" ? "AES" : "TDES"
          } KEK; ${kekId} is ${kekRec.algorithm}`,
        );
      }
      u = unwrap(kek, block);
    } finally {
      kek.fill(0);
    }
    try {
      const algorithm = algorithmFromHeader(u.header.algorithm, u.key.length);
      if (!USAGES[s.usage]) throw new KeyStoreError("BAD_INPUT", `usage: unknown "${s.usage}"`);
      if (u.header.usage !== USAGES[s.usage].tr31) {
        throw new KeyStoreError(
          "USAGE_MISMATCH",
          `the block's key usage ${u.header.usage} is not ${USAGES[s.usage].tr31} (${s.usage})`,
        );
      }
      if (s.expectKcv !== undefined && !matchKcv(algorithm, u.key, s.expectKcv)) {
        throw new KeyStoreError("KCV_MISMATCH", `KCV ${s.expectKcv} does not match the key`);
      }
      const version = s.version ??
        (/^[0-9]{2}$/.test(u.header.keyVersion) ? Number(u.header.keyVersion) : 0);
      const rec = v.addRecord(
        d,
        { ...s, algorithm, version, exportable: u.header.exportability === "E" },
        u.key,
        "key-block",
      );
      return { keyId: rec.id, kcv: rec.kcv, detail: `under ${kekId} (${kekRec.kcv})`, rec };
    } finally {
      u.key.fill(0);
    }
  }, { keyId: s.id });
  return info(r.rec);
}

/**
 * Exports key `id` as a TR-31 block under the KEK `kekId` (strict: D for an AES KEK, B for
 * TDES; the key must be active and exportable, the KEK at least as strong; two different
 * officers must authorise).
 */
export async function exportBlock(
  v: Vault,
  id: string,
  kekId: string,
  officers: string[],
  opts: { deliver?: Delivery } = {},
): Promise<string> {
  try {
    return await exportChange(v, id, kekId, officers, opts.deliver);
  } catch (e) {
    await opts.deliver?.undo();
    throw e;
  }
}

async function exportChange(
  v: Vault,
  id: string,
  kekId: string,
  officers: string[],
  deliver?: Delivery,
): Promise<string> {
  const r = await v.mutate("keys.export", async (d) => {
    const names = [...new Set(officers.map((o) => o.trim()).filter((o) => o !== ""))];
    if (names.length < 2) {
      throw new KeyStoreError(
        "DUAL_CONTROL",
        "export needs two different authorising officers (--authorized-by twice)",
      );
    }
    const rec = activeKey(d, id);
    if (!rec.exportable) {
      throw new KeyStoreError("KEY_NOT_EXPORTABLE", `key ${id} is marked non-exportable`);
    }
    const kekRec = activeKey(d, kekId);
    if (kekRec.usage !== "kek") {
      throw new KeyStoreError("USAGE_MISMATCH", `${kekId} is a ${kekRec.usage} key, not a kek`);
    }
    if (kekRec.id === rec.id) throw new KeyStoreError("BAD_INPUT", "a key cannot wrap itself");
    const kek = v.unwrapRecord(kekRec);
    const key = v.unwrapRecord(rec);
    try {
      if (
        keyStrengthBits(kekRec.algorithm, kek.length) < keyStrengthBits(rec.algorithm, key.length)
      ) {
        throw new KeyStoreError(
          "KEK_TOO_WEAK",
          `${kekId} (${kekRec.algorithm}, ${kek.length * 8} bits) is weaker than ${id}`,
        );
      }
      const u = USAGES[rec.usage];
      const block = wrap(
        kek,
        {
          version: kekRec.algorithm === "aes" ? "D" : "B",
          usage: u.tr31,
          algorithm: ALGORITHM_CHAR[rec.algorithm],
          modeOfUse: u.mode,
          keyVersion: String(rec.version).padStart(2, "0"),
          exportability: "N",
          optionalBlocks: [],
        },
        key,
        { maskedKeyLength: kekRec.algorithm === "aes" ? 32 : 24 },
      );
      await deliver?.write(block + "\n");
      return {
        keyId: id,
        kcv: rec.kcv,
        detail: `under ${kekId} (${kekRec.kcv}) authorised by ${names.join(" and ")}`,
        block,
      };
    } finally {
      kek.fill(0);
      key.fill(0);
    }
  }, { keyId: id });
  return r.block;
}
