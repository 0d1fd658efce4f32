/**
 * The key ceremony through the real CLI (issue 14 item 3; issue 13 item 7): the expected
 * combined KCV is checked on whichever component carries it (before: only on the first, so a
 * wrong one given by the last custodian was ignored); 4-byte check values (UnionPay key
 * download) are compared in full (before: the combined KCV was cut to 3 bytes); a component
 * ends at Enter — a pipe that stays open no longer hangs the command — and is never echoed on a
 * terminal (checked on a pseudo-terminal made by script(1)). The test key is the EMV test key
 * of docs/emv-pboc.md, "Published test vectors" (KCV 08D7B4, full check block 08D7B4FB629D0885), split into two components.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { kcv } from "../core/keys/kcv.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import { keysHome } from "./support/keys_home.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const KEY = "0123456789ABCDEFFEDCBA9876543210";
const C1 = "5A3C9E1F0B7D2468ACE13579BDF02468";
const C2 = toHex(fromHex(KEY).map((b, i) => b ^ fromHex(C1)[i]));

/** Spawns the CLI; stdout and stderr are collected without closing standard input. */
function spawn(cmd: string, args: string[], env: Record<string, string>) {
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = (s: ReadableStream<Uint8Array>) => new Response(s).text();
  const out = Promise.all([text(child.stdout), text(child.stderr), child.status]).then((
    [stdout, stderr, status],
  ) => ({ stdout, stderr, code: status.code }));
  return { child, out, writer: child.stdin.getWriter() };
}

async function home(): Promise<Record<string, string>> {
  return (await keysHome()).env;
}

function add(custodian: string, component: string, extra: string[] = []): string[] {
  return [
    "keys",
    "component",
    "add",
    "--id",
    "kek-up",
    "--usage",
    "kek",
    "--algorithm",
    "3des",
    "--parts",
    "2",
    "--custodian",
    custodian,
    "--kcv",
    kcv("3des", fromHex(component), 4), // 4-byte component KCVs
    "--json",
    ...extra,
  ];
}

Deno.test("combined KCV given by the last custodian is checked, 4 bytes in full", async () => {
  const env = await home();
  assertEquals((await icfareRun(add("alice", C1), { env, stdin: C1 + "\n" })).code, 0);
  // The right first three bytes, a wrong fourth: refused, and the components are discarded.
  const wrong = await icfareRun(add("bob", C2, ["--combined-kcv", "08D7B4FC"]), {
    env,
    stdin: C2 + "\n",
  });
  assertEquals(wrong.code, 1, wrong.stdout + wrong.stderr);
  assertEquals(JSON.parse(wrong.stdout).error.code, "KCV_MISMATCH");
  const list = JSON.parse((await icfareRun(["keys", "list", "--json"], { env })).stdout);
  assertEquals(list.keys.some((k: { id: string }) => k.id === "kek-up"), false);
  assertEquals(list.pending, []);
  // Again, with the right 4-byte combined KCV on the last component: active, KCV 08D7B4.
  assertEquals((await icfareRun(add("alice", C1), { env, stdin: C1 + "\n" })).code, 0);
  const ok = await icfareRun(add("bob", C2, ["--combined-kcv", "08d7b4fb"]), {
    env,
    stdin: C2 + "\n",
  });
  assertEquals(ok.code, 0, ok.stdout + ok.stderr);
  assertEquals(JSON.parse(ok.stdout).key.kcv, "08D7B4");
});

Deno.test("two custodians giving different combined KCVs: the second is refused", async () => {
  const env = await home();
  const first = await icfareRun(add("alice", C1, ["--combined-kcv", "08D7B4"]), {
    env,
    stdin: C1 + "\n",
  });
  assertEquals(first.code, 0);
  const second = await icfareRun(add("bob", C2, ["--combined-kcv", "112233"]), {
    env,
    stdin: C2 + "\n",
  });
  assertEquals(JSON.parse(second.stdout).error.code, "COMPONENT_REFUSED");
});

Deno.test("a component ends at Enter: a pipe left open does not hang the command", async () => {
  const env = await home();
  const p = spawn(Deno.execPath(), [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    MAIN,
    ...add("alice", C1),
  ], env);
  await p.writer.write(new TextEncoder().encode(C1 + "\n"));
  // The pipe stays open: the command must finish on the line alone (a generous bound, not a
  // measurement: before the change it waited for the end of input forever).
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finished = await Promise.race([
    p.out,
    new Promise<null>((r) => timer = setTimeout(() => r(null), 60_000)),
  ]);
  clearTimeout(timer);
  if (finished === null) p.child.kill();
  await p.writer.close().catch(() => {});
  const r = finished ?? await p.out;
  assert(finished !== null, "the command waited for the end of input");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).have, 1);
});

const hasScript = await new Deno.Command("script", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "on a terminal the component is never echoed (pseudo-terminal via script)",
  ignore: !hasScript,
  async fn() {
    const env = await home();
    const args = add("alice", C1).filter((a) => a !== "--json");
    const cmd = [
      Deno.execPath(),
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      MAIN,
      ...args,
    ]
      .map((a) => `'${a}'`).join(" ");
    const child = new Deno.Command("script", {
      args: ["-qec", cmd, "/dev/null"],
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    // A bound, not a measurement: a prompt nobody answers must fail the test, not hang it.
    const guard = setTimeout(() => child.kill(), 60_000);
    const w = child.stdin.getWriter();
    const reader = child.stdout.getReader();
    let screen = "";
    const dec = new TextDecoder();
    // Type only once the prompt is on the screen (the terminal is in raw mode from then on).
    while (!screen.includes("then Enter:")) {
      const c = await reader.read();
      if (c.done) break;
      screen += dec.decode(c.value);
    }
    await w.write(new TextEncoder().encode(C1 + "\r"));
    while (!/accepted from alice|\[[A-Z_]+\]/.test(screen)) {
      const c = await reader.read();
      if (c.done) break;
      screen += dec.decode(c.value);
    }
    await w.close(); // script(1) ends with its input
    for (;;) {
      const c = await reader.read();
      if (c.done) break;
      screen += dec.decode(c.value);
    }
    await child.status;
    clearTimeout(guard);
    assertMatch(screen, /nothing is shown/);
    assertMatch(screen, /component 1 of 2 for kek-up accepted from alice/);
    assert(!screen.toUpperCase().includes(C1), "the component was echoed");
    assert(!screen.includes(C1.slice(0, 8)), "part of the component was echoed");
  },
});
