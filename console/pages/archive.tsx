/** The deny list page (docs/console.md, "Archive and audit"). */
import { Hono } from "hono";
import type { ConsoleContext } from "../context.ts";
import { Page } from "../layout.tsx";
import type { Env } from "../guard.ts";

export function archiveRoutes(_ctx: ConsoleContext) {
  const app = new Hono<Env>();
  app.get("/", (c) =>
    c.html(
      <Page title="Archive and audit" path="/archive" session={c.get("session")}>
        <h2>Archive and audit,</h2>
      </Page>,
    ));
  return app;
}
