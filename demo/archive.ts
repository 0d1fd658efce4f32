/**
 * The demo's archive step (docs/archive.md): the cleared day closed, an auditor's key pair made
 * (the private half in the simulation directory, outside the home, like the other test keys;
 * the public half registered in the home), the day sealed into HOME/archive by the key store's
 * archive-sign key, then audited offline as an auditor would: the archive's bytes, the auditor's
 * key, the pinned signing key and the simulated issuer keys, no store and no key store.
 */
import { join } from "node:path";
import { closeDay } from "../core/clearing/clear.ts";
import { archiveDay, type ArchiveResult } from "../core/archive/archive.ts";
import { newAuditorKey } from "../core/archive/evidence.ts";
import { auditorKeyFiles } from "../core/archive/auditor_key.ts";
import { addAuditor } from "../core/archive/auditors.ts";
import { auditArchives, type AuditReport } from "../core/audit/audit.ts";
import { trustedSigner } from "../core/audit/head.ts";
import { chunksOf } from "../core/audit/lines.ts";
import { publicKeyInfo } from "../core/keys/signing.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { withHome } from "./steps.ts";

const ACTOR = "icfare demo";

/** What the archive step did, and the files an auditor would use again. */
export interface ArchiveAudit {
  archive: ArchiveResult;
  audit: AuditReport;
  /** The command line that repeats the audit. */
  command: string;
  files: { auditorKey: string; signer: string; issuerKeys: string };
}

/** The auditor's key pair: KEY (private, mode 600) in `simDir`, its public half registered. */
async function auditorKeys(
  home: string,
  simDir: string,
): Promise<{ key: string; priv: Uint8Array }> {
  const k = newAuditorKey();
  const files = auditorKeyFiles("demo auditor", k.privateKey, k.publicKey);
  const key = join(simDir, "auditor.key");
  await Deno.remove(key).catch(() => {});
  await Deno.writeTextFile(key, JSON.stringify(files.privateFile, null, 2) + "\n", { mode: 0o600 });
  await addAuditor(home, files.publicFile);
  return { key, priv: k.privateKey };
}

/** Closes and archives `day`, then audits the archive; the auditor key is zeroed afterwards. */
export function archiveAndAudit(
  home: string,
  masterKeyFile: string,
  simDir: string,
  day: string,
): Promise<ArchiveAudit> {
  return withHome(home, masterKeyFile, async ({ ks, store }) => {
    closeDay(store.db, day, ACTOR, new Date().toISOString());
    const auditor = await auditorKeys(home, simDir);
    try {
      const archive = await archiveDay({ home, day, db: store.db, ks });
      const signerInfo = publicKeyInfo(ks, "archive-sign");
      const signer = join(simDir, "archive-sign.pub.json");
      await Deno.writeTextFile(signer, JSON.stringify(signerInfo, null, 2) + "\n");
      const issuerKeys = join(simDir, "keys.json");
      const audit = await auditArchives(
        [{ name: archive.file, chunks: chunksOf(await Deno.readFile(archive.file)) }],
        {
          auditorKey: auditor.priv,
          issuerKeys: parseKeyFile(JSON.parse(await Deno.readTextFile(issuerKeys))),
          signers: [trustedSigner(signerInfo.publicKey)],
        },
      );
      const command = `icfare audit ${archive.file} --auditor-key ${auditor.key} ` +
        `--signer ${signer} --keys ${issuerKeys}`;
      return { archive, audit, command, files: { auditorKey: auditor.key, signer, issuerKeys } };
    } finally {
      auditor.priv.fill(0);
    }
  });
}

/** The step's line: the archive, then the audit's own last line. */
export function archiveLine(a: ArchiveAudit): string {
  const d = a.audit.days[0];
  const findings = d ? d.findings.length : 0;
  return `${a.archive.records} records sealed in ${a.archive.segments} segment(s), ` +
    `${a.archive.bytes} bytes, signed by ${a.archive.signer.keyId}; ` +
    `audit: ${a.audit.clean ? "CLEAN" : "NOT CLEAN"} (${findings} finding(s), ` +
    `${d?.checked.verdicts ?? 0} verdicts and ${d?.checked.cryptograms ?? 0} cryptograms ` +
    `re-derived, ${a.audit.recordsPerSecond} records/s)`;
}
