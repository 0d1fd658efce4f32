/**
 * The audit report for people: one block per day, its verdict first, what was checked, and
 * each finding with the record and field it concerns. The command line prints it; the browser
 * page shows the same text beside its table.
 */
import type { AuditReport, DayReport } from "./audit.ts";

function dayBlock(d: DayReport): string[] {
  const c = d.checked;
  const out = [
    `${d.day}  ${d.clean ? "CLEAN" : `NOT CLEAN (${d.failures} finding(s))`}  ${d.name}`,
    `  records ${d.records} in ${d.segments} segment(s); head ${d.head?.slice(0, 16) ?? "—"}…` +
    (d.previous ? `; chains to ${d.previous.day}` : "; first day of its chain"),
    `  signed by ${
      d.signer ? `${d.signer.keyId} (${d.signer.algorithm}, KCV ${d.signer.kcv})` : "—"
    }`,
    `  evidence opened ${c.evidenceOpened}; verdicts re-derived ${c.verdicts} ` +
    "from public evidence (ODA, data, dates), " +
    `${c.cryptograms} with cryptograms; clearing lines ${c.clearing}; trailer SHA-256 ` +
    (c.trailerSha256 ? "re-derived" : "not re-derived"),
  ];
  if (d.kernel.archived && d.kernel.archived !== d.kernel.used) {
    out.push(
      `  kernel ${d.kernel.used.slice(0, 16)}… (archived by ${d.kernel.archived.slice(0, 16)}…)`,
    );
  }
  for (const f of d.findings) {
    const where = [
      f.record ? `n=${f.record.n} ${f.record.ref}` : "",
      f.field ? `[${f.field}]` : "",
    ].filter(Boolean).join(" ");
    out.push(
      `  ${f.severity === "fail" ? "FAIL" : "note"} ${f.code}${
        where ? ` ${where}` : ""
      }: ${f.message}`,
    );
  }
  for (const [code, n] of Object.entries(d.omitted)) out.push(`  … and ${n} more ${code}`);
  return out;
}

/** The whole report as text lines. */
export function reportText(r: AuditReport): string[] {
  const out: string[] = [];
  for (const d of r.days) out.push(...dayBlock(d), "");
  out.push(
    `audit: ${r.clean ? "CLEAN" : "NOT CLEAN"} — ${r.days.length} archive(s), ${r.records} ` +
      `record(s) in ${r.seconds.toFixed(2)} s (${r.recordsPerSecond} records/s)`,
  );
  return out;
}
