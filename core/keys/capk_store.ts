/**
 * CA public keys in the store (docs/keys.md, "CAPKs"): public, kept in clear under the store's
 * MAC; stored only after `capk.ts` has checked them; revoked as a whole or one issuer
 * certificate serial at a time.
 */
import { HINTS, KeyStoreError } from "./errors.ts";
import { type CapkRecord, now } from "./records.ts";
import type { Vault } from "./vault.ts";

/** Current CAPK records (public). */
export function capkList(v: Vault): CapkRecord[] {
  return v.data.capks.map((c) => ({ ...c }));
}

/** What storing one CA key did. */
export interface CapkAction {
  action: "added" | "unchanged" | "expiry-updated";
  previousExpiry?: string;
}

/**
 * Stores verified CAPK records (see capk.ts for parsing and checks), one audit entry per key
 * that changes. A key already present with the same key material is kept, its expiry (and
 * form, source and notes) taken from the new list when the expiry differs — the store never
 * reports one expiry and keeps another. A different key under a RID/index already present, or
 * any key under a revoked one, refuses the whole import.
 */
export async function capkStore(
  v: Vault,
  records: CapkRecord[],
  source?: string,
): Promise<Map<string, CapkAction>> {
  const actions = new Map<string, CapkAction>();
  await v.mutate("capk.import", (d) => {
    const events = [];
    for (const c of records) {
      const name = `${c.rid}/${c.index}`;
      const have = d.capks.find((x) => x.rid === c.rid && x.index === c.index);
      if (have?.state === "revoked") {
        throw new KeyStoreError(
          "CAPK_CHECKSUM",
          `CAPK ${name} was revoked; a revoked key is not re-imported`,
        );
      }
      if (have && have.checksum !== c.checksum) {
        throw new KeyStoreError(
          "CAPK_CONFLICT",
          `CAPK ${name} is already present with another key (checksum ${have.checksum}, ` +
            `the list's ${c.checksum}); nothing imported`,
          { hint: `if the stored key is wrong: icfare capk revoke ${c.rid} ${c.index}` },
        );
      }
      const from = `${c.form ?? "json"} form${source ? `, source ${source}` : ""}`;
      if (!have) {
        d.capks.push(c);
        actions.set(name, { action: "added" });
        events.push({ detail: `CAPK ${name} added, expiry ${c.expiry} (${from})` });
      } else if (have.expiry !== c.expiry) {
        const previousExpiry = have.expiry;
        Object.assign(have, {
          expiry: c.expiry,
          form: c.form,
          source: c.source,
          notes: c.notes,
          rootSignature: c.rootSignature ?? have.rootSignature,
          updatedAt: now(),
        });
        actions.set(name, { action: "expiry-updated", previousExpiry });
        events.push({
          detail: `CAPK ${name} expiry ${previousExpiry} -> ${c.expiry} (${from})`,
        });
      } else actions.set(name, { action: "unchanged" });
    }
    if (events.length === 0) events.push({ detail: `${records.length} CAPK(s), all unchanged` });
    return { events: events.map((e) => ({ detail: e.detail.slice(0, 300) })) };
  });
  return actions;
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
    if (!c) throw new KeyStoreError("CAPK_NOT_FOUND", `no CAPK ${R}/${I}`, { hint: HINTS.capks });
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
