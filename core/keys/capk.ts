/**
 * CA public keys (CAPKs) in the key store: the import format of design.md §4, checksum
 * (design.md §6: SHA-1(RID ‖ index ‖ modulus ‖ exponent) for RSA, SHA-1(RID ‖ index ‖ x ‖ y)
 * for SM2) and expiry verified before anything is stored, and `CapkSource` for the
 * verification engine (core/emv/capk.ts on the engine branch) backed by the store.
 */
import { z } from "zod";
import { fromHex, toHex } from "../hex.ts";
import { KeyStoreError } from "./errors.ts";
import type { CapkRecord, KeyStore } from "./store.ts";
import { capkChecksum, CapkRegistry, type CapkSource } from "../emv/capk.ts";

const Hex = (what: string) => z.string().regex(/^[0-9A-Fa-f]+$/, `${what}: hex`);

const CapkEntry = z.object({
  rid: z.string().regex(/^[0-9A-Fa-f]{10}$/, "rid: 10 hex digits"),
  index: z.string().regex(/^[0-9A-Fa-f]{2}$/, "index: 2 hex digits"),
  algorithm: z.enum(["rsa", "sm2"]),
  modulus: Hex("modulus").optional(),
  exponent: Hex("exponent").optional(),
  publicKey: Hex("publicKey").optional(),
  expiry: z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, "expiry: YYYY-MM-DD"),
  checksum: z.string().regex(/^[0-9A-Fa-f]{40}$/, "checksum: 20 bytes of hex (SHA-1)"),
}).strict();

const CapkFile = z.object({ capks: z.array(CapkEntry).min(1).max(1000) }).strict();

/**
 * SHA-1 checksum of a CAPK as upper-case hex (design.md §6), computed by the engine's
 * `capkChecksum` so that import and verification can never disagree on the rule.
 */
export function capkChecksumHex(c: {
  rid: string;
  index: string;
  algorithm: "rsa" | "sm2";
  modulus?: string;
  exponent?: string;
  publicKey?: string;
}): string {
  if (c.algorithm === "rsa" && (!c.modulus || !c.exponent)) {
    throw new KeyStoreError("BAD_INPUT", "an RSA CAPK needs modulus and exponent");
  }
  let pk = c.publicKey ?? "";
  if (pk.length === 130 && /^04/.test(pk)) pk = pk.slice(2);
  if (c.algorithm === "sm2" && pk.length !== 128) {
    throw new KeyStoreError("BAD_INPUT", "an SM2 CAPK needs a 64-byte publicKey x‖y");
  }
  return toHex(capkChecksum({
    rid: c.rid,
    index: c.index,
    algorithm: c.algorithm,
    modulus: c.modulus ? fromHex(c.modulus, "modulus") : undefined,
    exponent: c.exponent ? fromHex(c.exponent, "exponent") : undefined,
    publicKey: pk ? fromHex(pk, "publicKey") : undefined,
  }));
}

function validDate(s: string): boolean {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/**
 * Checks a CAPK import file and returns the records to store. Refuses (nothing stored) on
 * a bad entry, a checksum that does not match, or — unless `allowExpired` — a key already
 * expired on `today` (YYYY-MM-DD). Archives that must re-verify old taps import expired keys
 * with `allowExpired`; the engine checks expiry against each tap's own date.
 */
export function parseCapkFile(json: unknown, today: string, allowExpired = false): CapkRecord[] {
  const p = CapkFile.safeParse(json);
  if (!p.success) {
    const i = p.error.issues[0];
    throw new KeyStoreError("BAD_INPUT", `CAPK file: ${i.path.join(".")}: ${i.message}`);
  }
  const out: CapkRecord[] = [];
  const seen = new Set<string>();
  for (const [i, e] of p.data.capks.entries()) {
    const rid = e.rid.toUpperCase(), index = e.index.toUpperCase();
    const name = `capks[${i}] (${rid}/${index})`;
    if (seen.has(rid + index)) throw new KeyStoreError("BAD_INPUT", `${name}: listed twice`);
    seen.add(rid + index);
    if (!validDate(e.expiry)) throw new KeyStoreError("BAD_INPUT", `${name}: expiry is not a date`);
    if (e.algorithm === "rsa") {
      if (!e.modulus || !e.exponent || e.publicKey) {
        throw new KeyStoreError("BAD_INPUT", `${name}: RSA needs modulus and exponent only`);
      }
      if (e.modulus.length < 128 || e.modulus.length > 496 || e.modulus.length % 2) {
        throw new KeyStoreError("BAD_INPUT", `${name}: modulus must be 64 to 248 bytes`);
      }
      if (!["03", "010001"].includes(e.exponent.toUpperCase())) {
        throw new KeyStoreError("BAD_INPUT", `${name}: exponent must be 03 or 010001`);
      }
    } else if (!e.publicKey || e.modulus || e.exponent) {
      throw new KeyStoreError("BAD_INPUT", `${name}: SM2 needs publicKey only`);
    }
    const rec: CapkRecord = {
      rid,
      index,
      algorithm: e.algorithm,
      modulus: e.modulus?.toUpperCase(),
      exponent: e.exponent?.toUpperCase(),
      publicKey: e.publicKey?.toUpperCase().replace(/^04(?=[0-9A-F]{128}$)/, ""),
      expiry: e.expiry,
      checksum: e.checksum.toUpperCase(),
      state: "active",
      importedAt: new Date().toISOString(),
      revokedSerials: [],
    };
    const sum = capkChecksumHex(rec);
    if (sum !== rec.checksum) {
      throw new KeyStoreError(
        "CAPK_CHECKSUM",
        `${name}: checksum ${rec.checksum} does not match the key (computed ${sum}); nothing imported`,
      );
    }
    if (!allowExpired && e.expiry < today) {
      throw new KeyStoreError(
        "CAPK_EXPIRED",
        `${name}: expired on ${e.expiry}; nothing imported (use --allow-expired for archives)`,
      );
    }
    out.push(rec);
  }
  return out;
}

/** Imports a CAPK file into the store (verified first; all or nothing). */
export async function importCapks(
  store: KeyStore,
  json: unknown,
  opts: { today?: string; allowExpired?: boolean } = {},
): Promise<CapkRecord[]> {
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  let recs: CapkRecord[];
  try {
    recs = parseCapkFile(json, today, opts.allowExpired ?? false);
  } catch (e) {
    if (e instanceof KeyStoreError) {
      await store.auditRefusal("capk.import", `${e.code}: ${e.message}`);
    }
    throw e;
  }
  await store.capkStore(
    recs,
    recs.map((r) => `${r.rid}/${r.index} ${r.checksum.slice(0, 8)}`).join(",").slice(0, 300),
  );
  return recs;
}

/**
 * The engine's registry over stored CA keys: active keys only, each with its revoked issuer
 * serials; the checksum of every stored key (active or not) is re-verified first. Used by the
 * key store's `CapkSource` and by store-mode verification (whose workers get plain records).
 */
export function capkRegistry(records: readonly CapkRecord[]): CapkRegistry {
  const reg = new CapkRegistry();
  for (const c of records) {
    if (capkChecksumHex(c) !== c.checksum) {
      throw new KeyStoreError("KEYSTORE_TAMPERED", `CAPK ${c.rid}/${c.index}: checksum differs`);
    }
    if (c.state !== "active") continue;
    reg.add({
      rid: c.rid,
      index: c.index,
      algorithm: c.algorithm,
      modulus: c.modulus ? fromHex(c.modulus, "modulus") : undefined,
      exponent: c.exponent ? fromHex(c.exponent, "exponent") : undefined,
      publicKey: c.publicKey ? fromHex(c.publicKey, "publicKey") : undefined,
      expiry: c.expiry,
      checksum: fromHex(c.checksum, "checksum"),
    });
    for (const s of c.revokedSerials) reg.revoke(c.rid, c.index, s);
  }
  return reg;
}

/**
 * A `CapkSource` over the store's active CA keys (revoked keys are absent; expiry is the
 * engine's check, against the transaction date). Listable, so the kernel runs ODA itself.
 */
export function capkSource(store: KeyStore): CapkSource {
  return capkRegistry(store.capkList());
}
