/**
 * Several processes opening one fresh SQLite store at once (two `serve` processes started
 * together on one home): each migration step is applied once, by whichever process takes the
 * write lock first; the others find it applied and open the store.
 */
import { assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SCHEMA_VERSION } from "../core/store/migrations.ts";

const SQLITE = new URL("../core/store/sqlite.ts", import.meta.url).href;

Deno.test("sqlite: four processes opening one fresh store together all open it, migrated once", async () => {
  for (let round = 0; round < 5; round++) {
    const dir = await Deno.makeTempDir({ prefix: "icfare-migrate-race-" });
    try {
      const path = join(dir, "icfare.db");
      const code = `const { openSqliteStore } = await import(${JSON.stringify(SQLITE)});
        openSqliteStore(${JSON.stringify(path)}).close();`;
      const runs = await Promise.all([1, 2, 3, 4].map(() =>
        new Deno.Command(Deno.execPath(), {
          args: ["eval", code],
          stdout: "piped",
          stderr: "piped",
        }).output()
      ));
      for (const r of runs) assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
      const db = new DatabaseSync(path);
      const v = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'batches'")
        .get() as { n: number };
      db.close();
      assertEquals([v, tables.n], [SCHEMA_VERSION, 1]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
