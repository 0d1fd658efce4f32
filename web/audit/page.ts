/**
 * The browser audit page (docs/archive.md, "In the browser"): the auditor picks archives and
 * key files from their disk; the audit runs in a worker made from the worker code inlined in
 * this same HTML file; the page shows progress, the verdict, and each finding with the day,
 * the record and the field it concerns, then the text report `icfare audit` prints.
 */
import type { AuditJob, WorkerMessage } from "./worker.ts";
import type { AuditReport } from "../../core/audit/audit.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function readText(input: HTMLInputElement): Promise<string | undefined> {
  const f = input.files?.[0];
  return f ? f.text() : Promise.resolve(undefined);
}

function cell(tr: HTMLTableRowElement, text: string): void {
  const td = document.createElement("td");
  td.textContent = text;
  tr.append(td);
}

function show(report: AuditReport, text: string): void {
  const v = $("verdict");
  v.dataset.clean = String(report.clean);
  v.dataset.state = "done";
  v.textContent = report.clean
    ? `CLEAN — ${report.days.length} archive(s), ${report.records} record(s) re-verified`
    : `NOT CLEAN — ${report.days.reduce((n, d) => n + d.failures, 0)} finding(s)`;
  const body = $<HTMLTableSectionElement>("findings-body");
  body.replaceChildren();
  for (const d of report.days) {
    for (const f of d.findings) {
      const tr = document.createElement("tr");
      tr.className = f.severity;
      tr.dataset.code = f.code;
      for (
        const t of [
          f.severity,
          f.code,
          d.day,
          f.record ? `n=${f.record.n} ${f.record.ref}` : "",
          f.field ?? "",
          f.message,
        ]
      ) cell(tr, t);
      body.append(tr);
    }
  }
  $("findings").hidden = false;
  $("report").textContent = text;
  $<HTMLProgressElement>("progress").value = 1;
}

function start(): void {
  const files = [...($<HTMLInputElement>("archives").files ?? [])];
  if (files.length === 0) {
    $("verdict").textContent = "choose at least one archive file";
    return;
  }
  const src = $("worker-src").textContent ?? "";
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  // A classic worker: a module worker from a blob URL does not start in a page opened from disk.
  const worker = new Worker(url);
  const v = $("verdict");
  v.dataset.state = "running";
  v.textContent = "auditing…";
  worker.onerror = (e: ErrorEvent) => {
    v.dataset.state = "error";
    v.textContent = `the audit stopped: ${e.message || "the worker could not start"}`;
    worker.terminate();
  };
  worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
    const m = ev.data;
    if (m.kind === "progress") {
      $<HTMLProgressElement>("progress").value = m.total ? m.done / m.total : 0;
    } else {
      if (m.kind === "done") show(m.report, m.text);
      else (v.dataset.state = "error", v.textContent = `refused: ${m.message}`);
      worker.terminate();
      URL.revokeObjectURL(url);
    }
  };
  Promise.all([
    readText($("auditor-key")),
    readText($("signer")),
    readText($("keys")),
  ]).then(([auditorKey, signer, keys]) => {
    worker.postMessage({ archives: files, auditorKey, signer, keys } satisfies AuditJob);
  });
}

$("run").addEventListener("click", start);
