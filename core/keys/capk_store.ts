/**
 * CA public keys in the store (docs/keys.md, "CAPKs"): public, kept in clear under the store's
 * MAC; stored only after `capk.ts` has checked them; revoked as a whole or one issuer
 * certificate serial at a time.
 */
import { KeyStoreError } from "./errors.ts";
import { type CapkRecord, now } from "./records.ts";
import type { Vault } from "./vault.ts";

/** Current CAPK records (public). */
export function capkList(v: Vault): CapkRecord[] {
  return v.data.capks.map((c) => ({ ...c }));
}

/** Stores verified CAPK records (see capk.ts for parsing and checks). */
export async function capkStore(v: Vault, records: CapkRecord[], detail: string): Promise<void> {
  await v.mutate("capk.import", (d) => {
    for (const c of records) {
      const i = d.capks.findIndex((x) => x.rid === c.rid && x.index === c.index);
      if (i >= 0) {
        if (d.capks[i].checksum === c.checksum && d.capks[i].state === "active") continue;
        if (d.capks[i].state === "revoked") {
          throw new KeyStoreError(
            "CAPK_CHECKSUM",
            `CAPK ${c.rid}/${c.index} was revoked; a revoked key is not re-imported`,
          );
        }
        d.capks[i] = c;
      } else d.capks.push(c);
    }
    return { detail };
  });
}

/** Revokes a CA key, or (with `serial`) one issuer certificate serial under it. */
export async function capkRevoke(
  v: Vault,
  rid: string,
  index: string,
  serial?: string,
): Promise<CapkRecord> {
  const R = rid.toUpperCase(), I = index.toUpperCase();
  const r = await v.mutate("capk.revoke", (d) => {
    const c = d.capks.find((x) => x.rid === R && x.index === I);
    if (!c) throw new KeyStoreError("CAPK_NOT_FOUND", `no CAPK ${R}/${I}`);
    if (serial !== undefined) {
      if (!/^[0-9A-Fa-f]{6}$/.test(serial)) {
        throw new KeyStoreError("BAD_INPUT", "serial: 6 hex digits");
      }
      const s = serial.toUpperCase();
      if (!c.revokedSerials.includes(s)) c.revokedSerials.push(s);
      return { detail: `CAPK ${R}/${I} issuer certificate serial ${s} revoked`, c };
    }
    c.state = "revoked";
    c.revokedAt = now();
    return { detail: `CAPK ${R}/${I} revoked (checksum ${c.checksum})`, c };
  });
  return r.c;
}
