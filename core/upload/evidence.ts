/**
 * Opens the chip data and ODA evidence of pending records for a verifier: each record's
 * evidence is `records[index]` of its batch's sealed raw body (tag-57 values blanked to 00 bytes, which TLV decoding skips as padding).
 * Each batch body is opened once per call.
 */
import { fromHex } from "../hex.ts";
import type { PanProtector } from "../store/pan.ts";
import type { PendingRecord, Store } from "../store/store.ts";

export interface RecordEvidence {
  readonly icc: Uint8Array;
  readonly oda: { readonly tlv: Uint8Array; readonly staticData: Uint8Array } | null;
}

/** Evidence of each record by record id. Throws if a body is missing or fails to open. */
export async function openEvidence(
  store: Store,
  pan: PanProtector,
  records: readonly PendingRecord[],
): Promise<Map<number, RecordEvidence>> {
  const bodies = new Map<
    number,
    { records: { icc: string; oda?: { tlv: string; staticData: string } }[] }
  >();
  const out = new Map<number, RecordEvidence>();
  for (const r of records) {
    let body = bodies.get(r.batchId);
    if (!body) {
      const sealed = await store.batchBody(r.batchId);
      if (!sealed) throw new Error(`batch ${r.batchId} of record ${r.id} is missing`);
      body = JSON.parse(new TextDecoder().decode(await pan.open(sealed.sealed, sealed.aad)));
      bodies.set(r.batchId, body!);
    }
    const rec = body!.records[r.index];
    if (!rec) throw new Error(`record ${r.id}: index ${r.index} outside its batch`);
    out.set(r.id, {
      icc: fromHex(rec.icc, `icc of record ${r.id}`),
      oda: rec.oda
        ? {
          tlv: fromHex(rec.oda.tlv, "oda.tlv"),
          staticData: fromHex(rec.oda.staticData, "staticData"),
        }
        : null,
    });
  }
  return out;
}
