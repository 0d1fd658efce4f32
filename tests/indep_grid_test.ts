/**
 * The engine over a grid of taps built by the independent builder (tests/support/indep/:
 * node:crypto, @noble, sm-crypto, nothing of icfare's): every CVN (01, 17) × algorithm (3DES,
 * SM4) × ODA kind (RSA and SM2 fDDA, SDA, certificates alone, none) × one fault at a time
 * (none, cryptogram, IDD MAC, card expiry, a 9F27 the CVR contradicts, the fDDA dynamic number,
 * the signed CTQ, static data, an unknown CA key, an ARQC). Each expected verdict follows from
 * the one thing the builder changed, by the statuses and checks of issue 13 (docs/emv-pboc.md;
 * the precedence of docs/verification.md), and both verification paths — the kernel and the
 * readable reference — must give it.
 *
 * The SM4 IMK-MAC is not held (its IDD MAC form has no public source), so SM4 taps report their
 * IDD MAC as no-key.
 */
import { assertEquals } from "@icfare/assert";
import { verifyRecordsKernel } from "../core/emv/batch.ts";
import { type RecordResult, verifyRecords } from "../core/emv/verify.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { buildTap, type OdaKind, type TapSpec } from "./support/indep/tap.ts";
import { alterStaticData } from "./support/indep/faults.ts";
import { capkFile, keysFile, UNKNOWN_CA_INDEX } from "./support/indep/world.ts";

const CVNS = [0x01, 0x17] as const;
const ALGS = ["3des", "sm4"] as const;
const ODA: OdaKind[] = [
  "rsa-fdda",
  "rsa-sda",
  "rsa-certs",
  "sm2-fdda",
  "sm2-sda",
  "sm2-certs",
  "none",
];
const FAULTS = [
  "none",
  "ac",
  "idd-mac",
  "expired",
  "cid",
  "dynamic-number",
  "ctq",
  "static-data",
  "unknown-ca",
  "arqc",
] as const;
type Fault = typeof FAULTS[number];

interface Expected {
  status: string;
  cryptogram: string;
  oda: string;
  odaCheck?: string;
  profile: string;
  cryptogramType: string;
  iddMac: string;
  cidNote: boolean;
}

/** The ODA check a changed static data gives, by chain: the first signature over it. */
const STATIC_CHECK: Record<string, string> = {
  "rsa-fdda": "ICC_CERT_HASH",
  "rsa-sda": "SSAD_HASH",
  "rsa-certs": "ICC_CERT_HASH",
  "sm2-fdda": "ICC_CERT_SIGNATURE",
  "sm2-sda": "SSAD_SIGNATURE",
  "sm2-certs": "ICC_CERT_SIGNATURE",
};

/** What the builder's one change must give. Undefined: the fault does not apply. */
function expected(
  cvn: number,
  alg: "3des" | "sm4",
  oda: OdaKind,
  fault: Fault,
): Expected | undefined {
  const fdda = oda.endsWith("fdda");
  if ((fault === "dynamic-number" || fault === "ctq") && !fdda) return undefined;
  if ((fault === "static-data" || fault === "unknown-ca") && oda === "none") return undefined;
  const okOda = oda === "none" ? "absent" : oda.endsWith("certs") ? "certs-only" : "ok";
  const e: Expected = {
    status: "OK",
    cryptogram: "ok",
    oda: okOda,
    profile: `pboc-cvn${cvn === 0x17 ? "17" : "01"}-${alg}`,
    cryptogramType: fault === "arqc" ? "ARQC" : "TC",
    iddMac: alg === "sm4" ? "no-key" : "ok",
    cidNote: fault === "cid",
  };
  const failOda = (check: string, status = "ODA_FAILED") => ({
    ...e,
    status,
    oda: check === "CAPK_UNKNOWN" ? "no-capk" : "failed",
    odaCheck: check,
  });
  switch (fault) {
    case "ac":
      return { ...e, status: "AC_MISMATCH", cryptogram: "mismatch" };
    case "idd-mac":
      return alg === "sm4" ? e : { ...e, status: "IDD_MAC_MISMATCH", iddMac: "mismatch" };
    case "expired":
      return { ...e, status: "CARD_EXPIRED" };
    case "dynamic-number":
      return failOda("SDAD_DYNAMIC_NUMBER");
    case "ctq":
      return failOda("SDAD_CTQ");
    case "static-data":
      return failOda(STATIC_CHECK[oda]);
    case "unknown-ca":
      return failOda("CAPK_UNKNOWN", "CAPK_UNKNOWN");
    default:
      return e;
  }
}

function specOf(seq: number, cvn: number, alg: "3des" | "sm4", oda: OdaKind, f: Fault): TapSpec {
  const base: TapSpec = { seq, atc: seq, cvn, alg, oda };
  switch (f) {
    case "ac":
      return { ...base, acOverride: "0102030405060708" };
    case "idd-mac":
      return { ...base, iddMac: "bad" };
    case "expired":
      return { ...base, expiry: "261126" }; // the tap is on 261127
    case "cid":
      return { ...base, cid: 0x80 }; // a TC with 9F27 saying ARQC
    case "dynamic-number":
      return { ...base, signedAtc: seq + 1 };
    case "ctq":
      return { ...base, ctq: "2000", signedCtq: "3000" };
    case "unknown-ca":
      return { ...base, caIndex: UNKNOWN_CA_INDEX };
    case "arqc":
      return { ...base, type: "ARQC" };
    default:
      return base;
  }
}

function view(r: RecordResult, e: Expected) {
  return {
    status: r.status,
    cryptogram: r.cryptogram,
    oda: r.oda,
    ...(e.odaCheck ? { odaCheck: r.odaCheck } : {}),
    profile: r.profile,
    cryptogramType: r.cryptogramType,
    iddMac: r.idd?.mac,
    cidNote: (r.notes ?? []).some((n) => n.includes("9F27")),
  };
}

const ctx = () => ({
  keys: parseKeyFile(keysFile({ mac: ["3des"] })),
  capks: parseCapkFile(capkFile()),
});

for (const cvn of CVNS) {
  for (const alg of ALGS) {
    Deno.test(`independent grid: CVN ${cvn.toString(16).padStart(2, "0")} ${alg}, every ODA kind × fault`, () => {
      const taps: { name: string; record: ReturnType<typeof buildTap>["record"]; e: Expected }[] =
        [];
      let seq = 1;
      for (const oda of ODA) {
        for (const f of FAULTS) {
          const e = expected(cvn, alg, oda, f);
          if (!e) continue;
          const t = buildTap(specOf(seq, cvn, alg, oda, f));
          taps.push({
            name: `${oda} / ${f}`,
            record: f === "static-data" ? alterStaticData(t, 4).record : t.record,
            e,
          });
          seq += 2;
        }
      }
      const records = taps.map((t) => t.record);
      const kernel = verifyRecordsKernel(records, ctx());
      const reference = verifyRecords(records, ctx());
      taps.forEach((t, i) => {
        for (const [path, r] of [["kernel", kernel[i]], ["reference", reference[i]]] as const) {
          const got = view(r, t.e) as Record<string, unknown>;
          for (const k of Object.keys(t.e) as (keyof Expected)[]) {
            assertEquals(got[k], t.e[k], `${t.name} [${path}] ${k}: ${r.message}`);
          }
        }
      });
    });
  }
}
