/**
 * `icfare simulate-acquirer` as a real subprocess: it prints its port, a link in this process
 * signs on with the TMK from `--keys-out` and collects taps through it (faults on), SIGTERM
 * stops it, and the report it writes counts the approvals per tap with PANs masked. Usage
 * errors exit 2; a bad profile file exits 1 with its coded line.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { fromHex } from "../core/hex.ts";
import { AcquirerLink } from "../core/iso8583/link.ts";
import { PROFILES } from "../core/iso8583/profile.ts";
import { runAttempt } from "../core/iso8583/attempt.ts";
import { authInputOf, syntheticTaps } from "../sim/acquirer/taps.ts";
import { maskPan } from "../core/mask.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

function spawn(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      MAIN,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The first line of a stream, and a reader for the rest. */
async function firstLine(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  return {
    line: text.slice(0, text.indexOf("\n")),
    rest: text.slice(text.indexOf("\n") + 1),
    reader,
  };
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += dec.decode(value);
  }
}

Deno.test("simulate-acquirer: serve, collect through it, SIGTERM, report with masked PANs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-acq-cli-" });
  try {
    const child = spawn([
      "simulate-acquirer",
      "--port=0",
      "--seed=cli",
      "--fault=timeout=0.1",
      "--fault=duplicate=0.1",
      "--late-ms=100",
      "--terminal=10000159",
      `--keys-out=${dir}/tmk.json`,
      `--report=${dir}/report.json`,
      "--json",
    ]);
    const out = await firstLine(child.stdout);
    const listening = JSON.parse(out.line).listening;
    assertEquals([listening.hostname, listening.profile, listening.tls], [
      "127.0.0.1",
      "icfare-sim",
      false,
    ]);
    const keys = JSON.parse(await Deno.readTextFile(`${dir}/tmk.json`)).keys;
    assertEquals(keys.length, 1);
    assertEquals([keys[0].id, keys[0].usage, keys[0].algorithm], [
      "acquirer-tmk-10000159",
      "acquirer-tmk",
      "3des",
    ]);
    assertEquals((await Deno.stat(`${dir}/tmk.json`)).mode! & 0o777, 0o600);
    const tmk = fromHex(keys[0].value);
    const link = new AcquirerLink({
      hostname: "127.0.0.1",
      port: listening.port,
      profile: PROFILES["icfare-sim"],
      terminalId: "10000159",
      merchantId: "880210010210160",
      timeoutMs: 300,
      tmk: { withTmk: (f) => f(tmk) },
    });
    const taps = syntheticTaps("cli", 30);
    const finals: Record<string, number> = {};
    let stan = 1;
    const next = () => String(stan++).padStart(6, "0");
    try {
      const signOn = async () => (await link.signOn(next())).ok;
      assert(await signOn());
      const journal = { sending: () => Promise.resolve(), reversing: () => Promise.resolve() };
      for (const t of taps) {
        for (let i = 0; i < 10; i++) {
          const r = await runAttempt(link, authInputOf(t, next()), journal, {
            signOn,
            reversalTries: 10,
          });
          if (r.final === "approved" || r.final === "declined") {
            finals[r.final] = (finals[r.final] ?? 0) + 1;
            break;
          }
        }
      }
    } finally {
      await link.close();
    }
    assertEquals((finals.approved ?? 0) + (finals.declined ?? 0), 30);
    child.kill("SIGTERM");
    const rest = out.rest + await drain(out.reader);
    const status = await child.status;
    assertEquals(status.code, 0, dec.decode(await new Response(child.stderr).arrayBuffer()));
    const stopped = JSON.parse(rest.trim().split("\n").at(-1)!).stopped;
    assertEquals(stopped.stoppedBy, "SIGTERM");
    assertEquals(stopped.ledger.live, finals.approved ?? 0, "standing approvals = approved debts");
    assertEquals(stopped.ledger.doubleApproved, 0);
    assert(stopped.host.faults.timeout > 0, "faults were injected");
    const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    assertEquals(report.taps.length, stopped.ledger.taps);
    const text = await Deno.readTextFile(`${dir}/report.json`);
    for (const t of taps) {
      assert(!text.includes(t.pan), "no clear PAN in the report");
    }
    assert(report.taps.some((e: { pan: string }) => taps.some((t) => maskPan(t.pan) === e.pan)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("simulate-acquirer: usage errors exit 2, a bad profile file exits 1 with its code", async () => {
  for (
    const [args, includes] of [
      [["--fault=nosuch=0.1"], `fault "nosuch" is not known`],
      [["--fault=timeout=0.9", "--fault=late=0.9"], "more than 1"],
      [["--port=70000"], "--port must be 0..65535"],
      [["--keys-out=x.json"], "--keys-out needs at least one --terminal"],
      [["--terminal=123"], "--terminal must be 8 characters"],
      [["--tls-cert=a.pem"], "--tls-cert and --tls-key go together"],
      [["--profile=nosuch"], `profile "nosuch" is not built in`],
    ] as const
  ) {
    const o = await spawn(["simulate-acquirer", ...args]).output();
    const err = dec.decode(o.stderr);
    assert(err.includes(includes), `${args.join(" ")}: ${err}`);
    assertEquals(o.code, includes.startsWith("profile") ? 1 : 2, `${args.join(" ")}: ${err}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "icfare-acq-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/p.json`, JSON.stringify({ ...PROFILES.afc, mac: "cmac" }));
    const o = await spawn(["simulate-acquirer", `--profile=${dir}/p.json`]).output();
    assertEquals(o.code, 1);
    assertMatch(dec.decode(o.stderr), /profile mac: .* \[ISO8583_PROFILE\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
