/**
 * A fresh icfare home for the key commands' CLI tests: a random master key in the environment,
 * an operator name, a directory outside the home for files, and a runner; plus the check that
 * a refusal is one coded line with exit 1 and no stack trace.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { toHex } from "../../core/hex.ts";
import { type CliRun, icfareRun } from "./icfare_cli.ts";

/** A home (with `keys init` unless `init` is false) and a runner for `icfare …` in it. */
export async function keysHome(init = true) {
  const home = await Deno.makeTempDir({ prefix: "icfare-keys-home-" });
  const outside = await Deno.makeTempDir({ prefix: "icfare-keys-files-" });
  const env = {
    ICFARE_HOME: home,
    ICFARE_MASTER_KEY: toHex(crypto.getRandomValues(new Uint8Array(32))),
    ICFARE_OPERATOR: "officer",
    NO_COLOR: "1",
  };
  const run = (...args: string[]) => icfareRun(args, { env });
  if (init) assertEquals((await run("keys", "init")).code, 0);
  return { home, outside, env, run };
}

/** Asserts a refusal: exit 1, one line on stderr with `[code]`, no stack trace; the line. */
export function refused(r: CliRun, code: string): string {
  assertEquals(r.code, 1, r.stdout + r.stderr);
  const line = r.stderr.trim();
  assertEquals(line.split("\n").length, 1, r.stderr);
  assertMatch(line, new RegExp(`\\[${code}\\]`));
  assert(!/\bat .*:\d+:\d+/.test(line), line);
  return line;
}
