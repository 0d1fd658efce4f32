/**
 * The simulated host's test keys: one terminal master key per terminal id, derived from the
 * seed so that a client in another process can be given the same key (as the key import file
 * `--keys-out` writes). Test world only: the keys are in clear in that file, as the simulated
 * issuer keys are in `icfare simulate`'s keys.json.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { adjustParity, kcv } from "../../core/emv/primitives.ts";
import { toHex } from "../../core/hex.ts";

/** The TMK (3DES, double length, odd parity) of `terminalId` in the world of `seed`. */
export function simTmk(seed: string, terminalId: string): Uint8Array {
  const h = sha256(new TextEncoder().encode(`icfare-acquirer-tmk|${seed}|${terminalId}`));
  return adjustParity(h.subarray(0, 16));
}

/**
 * A key import file (docs/cli.md format) with the TMKs of `terminals`: usage `acquirer-tmk`,
 * 3DES, KCV of 3 bytes as the key store checks them; the id `acquirer-tmk-<terminal>` is the one
 * `icfare collect` looks for by default.
 */
export function tmkImportFile(seed: string, terminals: readonly string[]) {
  return {
    keys: terminals.map((t) => {
      const k = simTmk(seed, t);
      const out = {
        id: `acquirer-tmk-${t}`,
        usage: "acquirer-tmk",
        algorithm: "3des",
        value: toHex(k),
        kcv: toHex(kcv("3des", k, 3)),
      };
      k.fill(0);
      return out;
    }),
  };
}
