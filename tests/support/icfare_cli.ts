/** Runs `icfare` as a real subprocess (read/write/env permissions only) and captures output. */
import { assertEquals } from "@icfare/assert";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

/** One captured run. */
export interface CliRun {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `icfare args…` with extra environment and optional standard input. */
export async function icfareRun(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    env: opts.env,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const o = await child.output();
  return {
    args,
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  };
}

/** The home of an end-to-end test: its temp dir, home, master key file, simulator output, day. */
export interface E2eHome {
  tmp: string;
  home: string;
  master: string;
  sim: string;
  day: string;
}

/** Runs `icfare args… --home --master-key-file` as operator `e2e`; fails the test unless 0. */
export async function icfareOk(e: E2eHome, ...args: string[]): Promise<string> {
  const r = await icfareRun([...args, "--home", e.home, "--master-key-file", e.master], {
    env: { ICFARE_OPERATOR: "e2e" },
  });
  assertEquals(r.code, 0, `icfare ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}
