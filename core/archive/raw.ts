/**
 * The raw record an archive seals for the auditors, and what the archive reads out of it in
 * clear: the CA key its ODA evidence names and its issuer certificate (no PAN in either).
 * Pure (the browser audit uses it).
 */
import { fromHex, toHex } from "../hex.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";

/** A raw record of a batch body as uploaded (tag 57 values blanked at ingest). */
export interface RawRecord {
  readonly seq: number;
  readonly fare: number;
  readonly icc: string;
  readonly oda?: { readonly tlv: string; readonly staticData: string };
  readonly [k: string]: unknown;
}

/** The CA key (`RID/index`) and issuer certificate the evidence of a record names. */
export function odaRefs(r: RawRecord): {
  capk: string | null;
  cert: { cert: string; exponent: string | null; remainder: string | null } | null;
} {
  if (!r.oda) return { capk: null, cert: null };
  const icc = parseTlv(fromHex(r.icc, "icc"));
  const oda = parseTlv(fromHex(r.oda.tlv, "oda"));
  if (!icc.ok || !oda.ok) return { capk: null, cert: null };
  const iv = flattenValues(icc.nodes), ov = flattenValues(oda.nodes);
  const aid = iv.get("4F") ?? iv.get("84");
  const index = ov.get("8F");
  const capk = aid && aid.length >= 5 && index?.length === 1
    ? `${toHex(aid.subarray(0, 5))}/${toHex(index)}`
    : null;
  const c = ov.get("90");
  const hex = (t: string) => (ov.has(t) ? toHex(ov.get(t)!) : null);
  return { capk, cert: c ? { cert: toHex(c), exponent: hex("9F32"), remainder: hex("92") } : null };
}
