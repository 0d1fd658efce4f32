/**
 * A home after a simulated day: `icfare demo` run as a real subprocess on a small day (fresh
 * home, key store, simulated day uploaded through the real upload server, verified, cleared,
 * reports written), for tests that look at what a day leaves behind.
 */
import { join } from "node:path";
import { assertEquals } from "@icfare/assert";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

export interface DemoHome {
  readonly home: string;
  /** The DEMO master key's file (mode 600, outside the home). */
  readonly masterKeyFile: string;
  readonly simDir: string;
  /** What the demo printed. */
  readonly output: string;
}

/** Runs `icfare demo` in `tmp` on `taps` taps; fails the test when the demo does not pass. */
export async function demoHome(
  tmp: string,
  o: { taps: number; seed: string; model: "ec" | "oda" | "mixed" },
): Promise<DemoHome> {
  const home = join(tmp, "home"), masterKeyFile = join(tmp, "m.key"), simDir = join(tmp, "sim");
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "demo",
      "--taps",
      String(o.taps),
      "--seed",
      o.seed,
      "--model",
      o.model,
      "--home",
      home,
      "--master-key-file",
      masterKeyFile,
      "--sim-dir",
      simDir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assertEquals(r.code, 0, output);
  return { home, masterKeyFile, simDir, output };
}
