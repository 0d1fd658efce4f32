/** `icfare tlv` as a real subprocess: readable tree, --json, stdin, and coded failures. */
import { assert, assertEquals, assertMatch } from "@icfare/assert";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

async function icfare(args: string[], stdin?: string) {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", MAIN, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const SAMPLE = "9F2701409F1013070101039000000" +
  "10A010000077347A057AB9E9F74064543433030319F02060000000002005A086212345678901234";

Deno.test("icfare tlv prints a named, decoded, masked tree", async () => {
  const r = await icfare(["tlv", SAMPLE]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /9F74 EC Issuer Authorization Code .*: "ECC001"/);
  assertMatch(r.stdout, /9F02 Amount, Authorised \(Numeric\) \[6\]: 2\.00 yuan/);
  assertMatch(r.stdout, /CVR 03900000: first AC TC/);
  assert(r.stdout.includes("621234******1234"));
  assert(!r.stdout.includes("6212345678901234"));
});

Deno.test("icfare tlv --json reads standard input", async () => {
  const r = await icfare(["tlv", "--json", "-"], SAMPLE);
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assertEquals(j.ok, true);
  assertEquals(j.objects.map((o: { tag: string }) => o.tag), [
    "9F27",
    "9F10",
    "9F74",
    "9F02",
    "5A",
  ]);
  assert(!r.stdout.includes("6212345678901234"));
});

Deno.test("icfare tlv names the offset of malformed data and exits non-zero", async () => {
  const r = await icfare(["tlv", "9F0206000000"]);
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /Cannot decode TLV at offset 2: .* \[TLV_VALUE_OVERRUN\]/);
  const j = await icfare(["tlv", "--json", "9F02 80"]);
  assertEquals(j.code, 1);
  assertEquals(JSON.parse(j.stdout).error, {
    code: "TLV_INDEFINITE_LENGTH",
    offset: 2,
    message: "Cannot decode TLV at offset 2: indefinite length (80) is not allowed in EMV data",
  });
  const bad = await icfare(["tlv", "9F0G"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /invalid hex digit at position 3/);
});

Deno.test("icfare tlv: missing or unusable input is one coded line and exit 2, never a stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-tlv-" });
  try {
    const empty = `${dir}/empty.hex`;
    await Deno.writeTextFile(empty, "  \n");
    const cases: [string[], string | undefined, RegExp][] = [
      [["tlv", "--file", `${dir}/missing.hex`], undefined, /missing\.hex.* \[FILE_NOT_FOUND\]$/],
      [["tlv", "--file", dir], undefined, /is a directory \[IS_A_DIRECTORY\]$/],
      [["tlv", "--file", empty], undefined, /input is empty \[EMPTY_INPUT\]$/],
      [["tlv", ""], undefined, /input is empty \[EMPTY_INPUT\]$/],
      [["tlv", "-"], "", /input is empty \[EMPTY_INPUT\]$/],
      [["tlv", "9F0G"], undefined, /invalid hex digit .* \[BAD_HEX\]$/],
    ];
    for (const [args, stdin, want] of cases) {
      const r = await icfare(args, stdin);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assertEquals(lines.length, 1, r.stderr);
      assertMatch(lines[0], /^icfare tlv: /);
      assertMatch(lines[0], want);
      assert(!/\bat .*:\d+:\d+/.test(r.stderr), "no stack trace");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
