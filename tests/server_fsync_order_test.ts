/**
 * Durability ordering (docs/reliability.md, D4): a SIGKILL test cannot see a missing
 * fsync, so the server runs under `strace -f` and the log is checked: every 200 receipt is
 * written to the socket only after the WAL write holding that receipt has been fsync'ed.
 * 200 uploads in the normal suite, 1,000 with ICFARE_SLOW=1. Skipped when strace is absent.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { makeHome, spawnServer } from "./support/server_process.ts";
import { checkFsyncOrder } from "./support/strace_order.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const N = SLOW ? 1000 : 200;

function hasStrace(): boolean {
  try {
    return new Deno.Command("strace", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("fsync order: the checker flags an answer sent before the WAL fsync", () => {
  const wal = "/h/icfare.db-wal";
  const receipt = '{"batchId":"LC000123-000001","replayed":false}';
  const good = [
    `10 openat(AT_FDCWD, "${wal}", O_RDWR) = 7`,
    `10 pwrite64(7, "...${receipt.replaceAll('"', '\\"')}...", 4096, 0) = 4096`,
    `10 fdatasync(7) = 0`,
    `11 sendto(9, "HTTP/1.1 200 OK\\r\\n\\r\\n${receipt}", 99, MSG_NOSIGNAL, NULL, 0) = 99`,
  ];
  // strace shows inner quotes escaped; the checker looks for the unescaped receipt text too
  const unescaped = good.map((l) => l.replace(/\\"/g, '"'));
  const ok = checkFsyncOrder(unescaped.join("\n"), wal);
  assertEquals([ok.acknowledged, ok.checked, ok.violations.length], [1, 1, 0]);
  const bad = checkFsyncOrder(
    [unescaped[0], unescaped[1], unescaped[3], unescaped[2]].join("\n"),
    wal,
  );
  assertEquals(bad.violations.length, 1);
  const split = [
    unescaped[0],
    unescaped[1],
    `10 fdatasync(7 <unfinished ...>`,
    unescaped[3],
    `10 <... fdatasync resumed>) = 0`,
  ];
  assertEquals(checkFsyncOrder(split.join("\n"), wal).violations.length, 1, "unfinished fsync");
});

Deno.test({
  name: `fsync order: ${N} uploads, each 200 written only after its WAL fsync (strace)`,
  ignore: !hasStrace(),
  async fn() {
    const terminals = ["LC000501", "LC000502", "LC000503", "LC000504"];
    const home = await makeHome(terminals);
    const log = join(home, "..", `${home.split("/").pop()}-strace.log`);
    const srv = await spawnServer(home, undefined, ["--rate", "100000", "--burst", "100000"], [
      "strace",
      "-f",
      "-qq",
      "-s",
      "1000000",
      "-e",
      "trace=openat,pwrite64,pwritev,write,writev,sendto,sendmsg,fsync,fdatasync",
      "-o",
      log,
    ]);
    let next = 0;
    try {
      await Promise.all(terminals.map(async (tid, k) => {
        for (let no = 1; next < N; no++) {
          next++;
          const b = sampleBatch({
            terminalId: tid,
            batchNo: no,
            records: 2,
            panBase: k * 10000 + no,
          });
          const r = await send(srv.url, enc.encode(JSON.stringify(b)), { terminalId: tid });
          assertEquals(r.status, 200);
          await r.body?.cancel();
        }
      }));
    } finally {
      // strace would detach on SIGTERM and leave the server running: signal the server itself.
      const first = (await Deno.readTextFile(log)).split(" ", 1)[0];
      Deno.kill(Number(first), "SIGTERM");
      await srv.child.status;
    }
    const text = await Deno.readTextFile(log);
    const wal = join(home, "icfare.db-wal");
    // strace escapes quotes inside strings; undo that for matching
    const report = checkFsyncOrder(text.replace(/\\"/g, '"'), wal);
    await Deno.remove(log);
    assertEquals(report.violations, []);
    assertEquals(report.acknowledged, N);
    assertEquals(report.checked, N);
    assert(report.walFsyncs > 0);
    console.log(
      `fsync order: ${N} acknowledged uploads, ${report.walFsyncs} WAL fsyncs, 0 answers before ` +
        `their fsync`,
    );
  },
});
