/**
 * Checks an `strace -f` log of the upload server (docs/reliability.md D4): for every batch
 * acknowledged with 200, the WAL write carrying its receipt is followed by a completed
 * fsync/fdatasync of the WAL file before the response carrying that receipt starts.
 */

export interface OrderReport {
  readonly acknowledged: number;
  readonly checked: number;
  readonly violations: string[];
  readonly walFsyncs: number;
}

const BATCH_ID = /"batchId":"([0-9A-Za-z]{8}-[0-9]{6})"/g;

/** Analyses the log text; `walPath` is the `-wal` file of the store. */
export function checkFsyncOrder(log: string, walPath: string): OrderReport {
  const lines = log.split("\n");
  let walFd: number | null = null;
  const pending = new Map<string, { name: string; fd: number; line: string }>();
  const walWrite = new Map<string, number>(); // batchId → index of the WAL write's completion
  const fsyncDone: number[] = [];
  const response = new Map<string, number>(); // batchId → index of the response write's start
  lines.forEach((raw, i) => {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) return;
    const [, pid, rest] = m;
    let name: string, fd: number, text: string, completed: boolean;
    const resumed = /^<\.\.\. (\w+) resumed>/.exec(rest);
    if (resumed) {
      const p = pending.get(pid);
      pending.delete(pid);
      if (!p) return;
      ({ name, fd } = p);
      text = p.line + rest;
      completed = true;
    } else {
      const c = /^(\w+)\((\d+)?/.exec(rest);
      if (!c) return;
      name = c[1];
      fd = c[2] === undefined ? -1 : Number(c[2]);
      text = rest;
      completed = !rest.includes("<unfinished ...>");
      if (!completed) pending.set(pid, { name, fd, line: rest });
    }
    if (name === "openat" && text.includes(`"${walPath}"`)) {
      const r = /= (\d+)$/.exec(text.trim());
      if (r) walFd = Number(r[1]);
      return;
    }
    if (walFd === null) return;
    if ((name === "fsync" || name === "fdatasync") && fd === walFd && completed) {
      if (/= 0$/.test(text.trim())) fsyncDone.push(i);
      return;
    }
    if (!text.includes('"replayed":false}')) return;
    if (name.startsWith("pwrite") && fd === walFd && completed) {
      for (const b of text.matchAll(BATCH_ID)) if (!walWrite.has(b[1])) walWrite.set(b[1], i);
    } else if (/^(write|writev|sendto|sendmsg)$/.test(name) && fd !== walFd && !resumed) {
      for (const b of text.matchAll(BATCH_ID)) if (!response.has(b[1])) response.set(b[1], i);
    }
  });
  const violations: string[] = [];
  let checked = 0;
  for (const [batch, at] of response) {
    const w = walWrite.get(batch);
    if (w === undefined) {
      violations.push(`${batch}: answered but no WAL write of its receipt seen`);
      continue;
    }
    checked++;
    if (!fsyncDone.some((f) => f > w && f < at)) {
      violations.push(`${batch}: answered (line ${at + 1}) before a WAL fsync after its write`);
    }
  }
  return { acknowledged: response.size, checked, violations, walFsyncs: fsyncDone.length };
}
