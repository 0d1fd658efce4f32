/**
 * Auditor key files (docs/archive.md, "PANs and tag 57"): a P-256 key pair the auditor makes;
 * the public half goes to the operator, the private half stays with the auditor and opens the
 * archives' sealed evidence. Pure (the browser audit reads the same files).
 */
import { fromHex, toHex } from "../hex.ts";
import { IcfareError } from "../errors.ts";
import { auditorKcv, auditorPublicKey, checkAuditorPublicKey } from "./evidence.ts";

export const AUDITOR_KEY_FORMAT = "icfare-auditor-key/1";

/** An auditor key file: the public key, and for the auditor's own copy the private key. */
export interface AuditorKeyFile {
  readonly format: string;
  readonly curve: "P-256";
  readonly name: string;
  /** `04 ‖ x ‖ y`, upper-case hex. */
  readonly publicKey: string;
  readonly kcv: string;
  readonly privateKey?: string;
}

/** A refused archive or audit input (bad key file, missing auditor, …). */
export class ArchiveError extends IcfareError {
  constructor(code: string, message: string, hint?: string) {
    super(code, message, hint ? { hint } : undefined);
    this.name = "ArchiveError";
  }
}

/**
 * Reads an auditor key file (JSON); `needPrivate` for the auditor's own copy. The public key
 * must be a P-256 point, its KCV must match, and a private key must give the public key.
 */
export function parseAuditorKey(
  json: unknown,
  needPrivate: boolean,
  what = "auditor key file",
): { name: string; publicKey: Uint8Array; kcv: string; privateKey?: Uint8Array } {
  const o = json as Partial<AuditorKeyFile> | null;
  const bad = (m: string) => new ArchiveError("AUDITOR_KEY_INVALID", `${what}: ${m}`);
  if (!o || typeof o !== "object" || o.format !== AUDITOR_KEY_FORMAT) {
    throw bad(`not an ${AUDITOR_KEY_FORMAT} file`);
  }
  let pub: Uint8Array;
  try {
    pub = fromHex(String(o.publicKey ?? ""), "publicKey");
    checkAuditorPublicKey(pub);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const kcv = auditorKcv(pub);
  if (o.kcv !== kcv) throw bad(`KCV ${o.kcv} does not match the public key (${kcv})`);
  if (!needPrivate) return { name: String(o.name ?? ""), publicKey: pub, kcv };
  if (typeof o.privateKey !== "string") {
    throw bad("no private key (this is the public half; give the auditor's own file)");
  }
  let priv: Uint8Array;
  try {
    priv = fromHex(o.privateKey, "privateKey");
    if (toHex(auditorPublicKey(priv)) !== toHex(pub)) throw new Error("does not match");
  } catch {
    throw bad("the private key does not give the public key");
  }
  return { name: String(o.name ?? ""), publicKey: pub, kcv, privateKey: priv };
}

/** The two files of a new auditor key: the private one (mode 600) and the public half. */
export function auditorKeyFiles(
  name: string,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
): { privateFile: AuditorKeyFile; publicFile: AuditorKeyFile } {
  const publicFile: AuditorKeyFile = {
    format: AUDITOR_KEY_FORMAT,
    curve: "P-256",
    name,
    publicKey: toHex(publicKey),
    kcv: auditorKcv(publicKey),
  };
  return { privateFile: { ...publicFile, privateKey: toHex(privateKey) }, publicFile };
}
