/** The deny list page (docs/console.md, "Clearing"). */
import { Hono } from "hono";
import type { ConsoleContext } from "../context.ts";
import { Page } from "../layout.tsx";
import type { Env } from "../guard.ts";

export function clearingRoutes(_ctx: ConsoleContext) {
  const app = new Hono<Env>();
  app.get("/", (c) =>
    c.html(
      <Page title="Clearing" path="/clearing" session={c.get("session")}>
        <h2>Clearing,</h2>
      </Page>,
    ));
  return app;
}
