/**
 * `deno task audit:web` (docs/archive.md, "In the browser"): builds the browser audit into ONE
 * self-contained HTML file, `web/audit/dist/icfare-audit.html`: the worker (core/audit with the
 * WASM kernel inlined as base64) and the page script, each bundled by `deno bundle` (the
 * esbuild that Deno 2.9 pins) for the browser, minified, inlined into `page.html`. The page
 * makes no request: it opens offline from disk.
 */
const here = (p: string) => new URL(p, import.meta.url).pathname;

async function bundle(entry: string): Promise<string> {
  const out = here(`./dist/.${entry.slice(2, -3)}.js`);
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", out, here(entry)],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (r.code !== 0) throw new Error(`deno bundle ${entry} failed (exit ${r.code})`);
    const js = await Deno.readTextFile(out);
    if (/<\/script/i.test(js)) throw new Error(`${entry}: the bundle holds "</script"`);
    if (/\bnode:|\bDeno\./.test(js)) throw new Error(`${entry}: the bundle uses Deno or Node APIs`);
    if (/(^|[;}])\s*(import|export)\s*[{*]/.test(js)) {
      throw new Error(`${entry}: the bundle is a module (the worker must run as a classic script)`);
    }
    return js;
  } finally {
    await Deno.remove(out);
  }
}

if (import.meta.main) {
  await Deno.mkdir(here("./dist"), { recursive: true });
  const [worker, page] = await Promise.all([bundle("./worker.ts"), bundle("./page.ts")]);
  const html = (await Deno.readTextFile(here("./page.html")))
    .replace("/*WORKER*/", () => worker)
    .replace("/*PAGE*/", () => page);
  const target = here("./dist/icfare-audit.html");
  await Deno.writeTextFile(target, html);
  console.log(`audit page: ${target} (${(html.length / 1024).toFixed(0)} KiB)`);
}
