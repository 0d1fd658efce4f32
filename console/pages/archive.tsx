/**
 * Archive and audit (docs/console.md, "Archive and audit"): the audit trails the console can
 * check today — the key store's hash chain verified on every view (as `icfare keys audit` does)
 * and the console's own trail, newest first. Archived days, their chain heads and the audit
 * verdicts come from the archive module once it is on main (docs/console.md, "Not done").
 */
import { Hono } from "hono";
import { consoleAuditTail } from "../accounts.ts";
import type { ConsoleContext } from "../context.ts";
import { Page } from "../layout.tsx";
import type { Env } from "../guard.ts";

export function archiveRoutes(ctx: ConsoleContext) {
  const app = new Hono<Env>();
  app.get("/", async (c) => {
    const ks = await ctx.keyStore("console");
    let v;
    try {
      v = await ks.verifyAudit();
    } finally {
      ks.close();
    }
    const trail = consoleAuditTail(ctx.store.connection, 100);
    return c.html(
      <Page title="Archive and audit" path="/archive" session={c.get("session")}>
        <h2>Archive and audit</h2>
        <section class="card">
          <h3>Key store audit trail</h3>
          <p id="keys-audit" class={v.ok ? "ok" : "bad"}>
            {v.ok
              ? "Chain intact"
              : `Chain broken at line ${v.problem?.line}: ${v.problem?.message}`}
            {": "}
            {v.entries} entries, head #{v.head.seq} {v.head.hash.slice(0, 16)}…
            {v.acknowledged ? " (verified past an acknowledged break)" : ""}
          </p>
        </section>
        <section class="card">
          <h3>Console audit trail (latest 100)</h3>
          <table id="console-audit">
            <tr>
              <th>at</th>
              <th>account</th>
              <th>action</th>
              <th>target</th>
              <th>result</th>
              <th>detail</th>
            </tr>
            {trail.map((e) => (
              <tr>
                <td>{e.at}</td>
                <td>{e.account}</td>
                <td>{e.action}</td>
                <td>{e.target}</td>
                <td class={e.result === "ok" ? "ok" : "bad"}>{e.result}</td>
                <td>{e.detail}</td>
              </tr>
            ))}
          </table>
        </section>
        <section class="card">
          <h3>Archived days</h3>
          <p class="muted" id="archive-pending">
            The day archive (sealed days, chain heads, audit verdicts) is read through the archive
            module, which this build does not have yet.
          </p>
        </section>
      </Page>,
    );
  });
  return app;
}
