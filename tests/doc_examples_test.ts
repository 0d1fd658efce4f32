/**
 * Every `@example` block of the product code runs (`deno test --doc`, docs/testing.md). The
 * examples run under the project's import map and compiler options except `noUnusedLocals` and
 * `noUnusedParameters`: `deno test --doc` imports every export of the documented module into
 * each example, and those two options would make each unused one an error.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const ROOMS = ["core", "kernel-as", "cli", "server", "sim", "demo", "console"];

/** Source files (not tests) under `dir` whose doc comments hold an `@example`. */
async function withExamples(dir: string, out: { file: string; examples: number }[]) {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) {
      await withExamples(path, out);
    } else if (e.isFile && /\.tsx?$/.test(e.name) && !/_test\.tsx?$/.test(e.name)) {
      const n = (await Deno.readTextFile(path)).match(/^\s*\* @example/gm)?.length ?? 0;
      if (n > 0) out.push({ file: path, examples: n });
    }
  }
}

/** The root deno.json as a standalone config: absolute import targets, unused names allowed. */
async function docConfig(): Promise<string> {
  const c = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const imports = Object.fromEntries(
    Object.entries(c.imports as Record<string, string>).map(([k, v]) => [
      k,
      v.startsWith("./") ? new URL(v, `file://${ROOT}`).href : v,
    ]),
  );
  const { noUnusedLocals: _l, noUnusedParameters: _p, ...compilerOptions } = c.compilerOptions;
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify({ imports, compilerOptions }));
  return file;
}

Deno.test("doc examples: every @example of the product code runs and passes", async () => {
  const files: { file: string; examples: number }[] = [];
  for (const room of ROOMS) await withExamples(join(ROOT, room), files);
  const examples = files.reduce((s, f) => s + f.examples, 0);
  assert(examples >= 7, `only ${examples} examples found`);
  const config = await docConfig();
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--doc", "--allow-all", "--config", config, ...files.map((f) => f.file)],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 0, text);
    const m = /ok \| (\d+) passed \| 0 failed/.exec(text);
    assertEquals(Number(m?.[1]), examples, text);
  } finally {
    await Deno.remove(config);
  }
});
