/**
 * The browser audit's worker (docs/archive.md, "In the browser"): the same audit as
 * `icfare audit` (core/audit) with the same WASM kernel, on the archives the auditor picked
 * from their disk. It runs in a worker because browsers compile a WASM module of this size
 * synchronously only off the main thread, and so the page stays responsive. Nothing leaves the
 * page: the files are read through `File.stream()`, no request is made.
 */
import { auditArchives, type AuditReport } from "../../core/audit/audit.ts";
import { reportText } from "../../core/audit/report.ts";
import { trustedSigner } from "../../core/audit/head.ts";
import { parseAuditorKey } from "../../core/archive/auditor_key.ts";
import { parseKeyFile } from "../../core/emv/issuer_keys.ts";

/** What the page sends: the archive files and the texts of the optional key files. */
export interface AuditJob {
  readonly archives: File[];
  readonly auditorKey?: string;
  readonly signer?: string;
  readonly keys?: string;
}

/** What the worker answers. */
export type WorkerMessage =
  | { kind: "progress"; done: number; total: number }
  | { kind: "done"; report: AuditReport; text: string }
  | { kind: "error"; message: string };

const post = (m: WorkerMessage) =>
  (globalThis as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);

async function* chunks(f: File): AsyncGenerator<Uint8Array> {
  const r = f.stream().getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) return;
    yield value;
  }
}

/** A signer from the JSON of `icfare archive key --json`, or a hex public key. */
function signerOf(text: string) {
  const t = text.trim();
  return trustedSigner(t.startsWith("{") ? String(JSON.parse(t).publicKey ?? "") : t);
}

async function run(j: AuditJob): Promise<void> {
  const ak = j.auditorKey ? parseAuditorKey(JSON.parse(j.auditorKey), true) : undefined;
  const report = await auditArchives(
    j.archives.map((f) => ({ name: f.name, chunks: chunks(f), size: f.size })),
    {
      auditorKey: ak?.privateKey,
      issuerKeys: j.keys ? parseKeyFile(JSON.parse(j.keys)) : undefined,
      signers: j.signer ? [signerOf(j.signer)] : [],
      onProgress: (done, total) => post({ kind: "progress", done, total }),
    },
  );
  ak?.privateKey?.fill(0);
  post({ kind: "done", report, text: reportText(report).join("\n") });
}

globalThis.onmessage = (ev: MessageEvent<AuditJob>) => {
  run(ev.data).catch((e) => post({ kind: "error", message: (e as Error).message }));
};
