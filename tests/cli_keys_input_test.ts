/** `keys import` and `capk import` answer a file that is not JSON with BAD_INPUT naming it. */
import { assert, assertMatch } from "@icfare/assert";
import { toHex } from "../core/hex.ts";
import { icfareRun } from "./support/icfare_cli.ts";

Deno.test("import of a file that is not JSON: BAD_INPUT with the path, nothing imported", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-keys-input-" });
  const outside = await Deno.makeTempDir({ prefix: "icfare-keys-input-files-" });
  try {
    const env = {
      ICFARE_HOME: home,
      ICFARE_MASTER_KEY: toHex(crypto.getRandomValues(new Uint8Array(32))),
      ICFARE_OPERATOR: "officer1",
    };
    const init = await icfareRun(["keys", "init"], { env });
    assert(init.code === 0, init.stderr);
    const bad = `${outside}/broken.json`;
    await Deno.writeTextFile(bad, '{"keys": [');
    for (const cmd of [["keys", "import", bad], ["capk", "import", bad]]) {
      const r = await icfareRun(cmd, { env });
      assert(r.code !== 0, `${cmd.join(" ")} accepted a broken file`);
      assertMatch(r.stdout + r.stderr, /BAD_INPUT/);
      assertMatch(r.stdout + r.stderr, /broken\.json: not JSON/);
    }
    const list = await icfareRun(["keys", "list", "--json"], { env });
    assert(!list.stdout.includes("imk-ac"), "a key was imported from a broken file");
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
