/**
 * Issue 14 items 6 and 7 for `simulate`, `demo` and `serve` as real subprocesses: a date that
 * is not a day of the calendar is refused at the door (exit 2) and nothing is written; bad
 * usage is exit 2 (`demo` included); an --out that names a file, and a home on a read-only file
 * system (EROFS, a read-only tmpfs mounted in a private mount namespace with `unshare`), are one
 * coded line with exit 1 — never a stack trace.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { icfareRun } from "./support/icfare_cli.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

/** One coded line on stderr (`icfare CMD: … [CODE]`), no stack trace; returns the code. */
function codedLine(cmd: string, stderr: string): string {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, stderr);
  assert(!/\bat .*:\d+:\d+/.test(stderr), "no stack trace");
  const m = new RegExp(`^icfare ${cmd}: .* \\[([A-Z_]+)\\]`).exec(lines[0]);
  assert(m, lines[0]);
  return m[1];
}

Deno.test("dates: simulate and demo refuse a day that is not in the calendar, before any work", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-dates-" });
  try {
    const bad = ["2026-02-30", "2026-13-01", "2026-6-1", "1999-12-31", "2026-04-31"];
    for (const date of bad) {
      const out = join(tmp, `sim-${date}`);
      const r = await icfareRun(["simulate", "--out", out, "--taps", "10", "--date", date]);
      assertEquals(r.code, 2, `simulate --date ${date}: ${r.stderr}`);
      assertEquals(codedLine("simulate", r.stderr), "USAGE");
      assert(r.stderr.includes("--date"), r.stderr);
      assert(!(await Deno.stat(out).then(() => true, () => false)), "nothing written");
    }
    const home = join(tmp, "home"), sim = join(tmp, "sim"), key = join(tmp, "m.key");
    const demo = ["demo", "--home", home, "--sim-dir", sim, "--master-key-file", key];
    const d = await icfareRun([...demo, "--taps", "10", "--date", "2026-02-30"]);
    assertEquals(d.code, 2, d.stderr);
    assertMatch(d.stderr, /2026-02-30 is not a day of the calendar \[USAGE\]/);
    assert(!(await Deno.stat(home).then(() => true, () => false)), "the demo did not start");
    const ok = await icfareRun([
      "simulate",
      "--out",
      join(tmp, "leap"),
      "--taps",
      "10",
      "--date",
      "2028-02-29",
      "--json",
    ]);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(JSON.parse(ok.stdout).date, "2028-02-29");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("usage: demo's bad options are exit 2; simulate --out naming a file is a coded exit 2", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-usage-" });
  try {
    const home = join(tmp, "home");
    const cases: [string[], RegExp][] = [
      [["demo", "--taps", "5", "--home", home], /--taps must be an integer/],
      [["demo", "--home", home, "--master-key-file", join(home, "m.key")], /outside the home/],
      [["demo", "--home", home, "--sim-dir", join(home, "sim")], /outside the home/],
      [["demo", "--bogus"], /Unknown option/],
    ];
    for (const [args, want] of cases) {
      const r = await icfareRun(args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertEquals(codedLine("demo", r.stderr), "USAGE");
      assertMatch(r.stderr, want);
    }
    // serve's store thread: auto, worker or main, nothing else (refused before any start-up)
    const t = await icfareRun(["serve", "--home", home, "--store-thread", "fast"]);
    assertEquals(t.code, 2, t.stderr);
    assertEquals(codedLine("serve", t.stderr), "USAGE");
    assertMatch(t.stderr, /--store-thread must be auto, worker or main, got "fast"/);
    const file = join(tmp, "a-file");
    await Deno.writeTextFile(file, "x");
    const s = await icfareRun(["simulate", "--out", file, "--taps", "10"]);
    assertEquals(s.code, 2, s.stderr);
    assertEquals(codedLine("simulate", s.stderr), "NOT_A_DIRECTORY");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** True when this machine lets a test mount a read-only tmpfs in a private namespace. */
function canMountReadOnly(): boolean {
  try {
    return new Deno.Command("unshare", {
      args: ["-rm", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** Runs `icfare args…` with `dir` a read-only file system (in its own mount namespace only). */
async function onReadOnly(dir: string, args: string[]) {
  const r = await new Deno.Command("unshare", {
    args: [
      "-rm",
      "sh",
      "-c",
      'mount -t tmpfs -o ro tmpfs "$0" && shift && exec "$@"',
      dir,
      "--",
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test({
  name: "read-only home (EROFS): simulate, serve and demo answer one coded line, exit 1",
  ignore: !canMountReadOnly(),
  async fn() {
    const ro = await Deno.makeTempDir({ prefix: "icfare-ro-" });
    try {
      const runs: [string, string[]][] = [
        ["simulate", ["simulate", "--out", join(ro, "sim"), "--taps", "10"]],
        ["serve", ["serve", "--home", join(ro, "home"), "--port", "0"]],
        ["demo", [
          "demo",
          "--home",
          join(ro, "home"),
          "--sim-dir",
          join(ro, "sim"),
          "--master-key-file",
          join(ro, "m.key"),
          "--taps",
          "10",
        ]],
      ];
      for (const [cmd, args] of runs) {
        const r = await onReadOnly(ro, args);
        assertEquals(r.code, 1, `${cmd}: ${r.stderr}`);
        assertEquals(codedLine(cmd, r.stderr), "READ_ONLY_FILESYSTEM", r.stderr);
      }
    } finally {
      await Deno.remove(ro, { recursive: true });
    }
  },
});
