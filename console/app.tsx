/**
 * The operator console's Hono app (docs/console.md): its own process and its own app, never
 * mounted beside the upload API, so no terminal credential reaches it and no console session
 * reaches the upload routes. Server-rendered with hono/jsx; no script is sent to the browser.
 *
 * Every request but the login page and the stylesheet needs a live session; every POST must
 * carry the session's CSRF token (and, when the browser sends one, an Origin of this host); a
 * state change also needs a role allowed to make it (`PERMISSIONS`). Each refusal is a coded
 * page, and each refused or made state change is written to the console audit trail with the
 * account's name.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { IcfareError } from "../core/errors.ts";
import { esc } from "../core/report/html.ts";
import { consoleAudit } from "./accounts.ts";
import { type Env, Refusal } from "./guard.ts";
import type { ConsoleContext } from "./context.ts";
import { Csrf, CSS } from "./layout.tsx";
import { COOKIE, sameToken, type Session } from "./sessions.ts";
import { dayRoutes } from "./pages/day.tsx";
import { DayCache } from "./day_data.ts";
import { terminalRoutes } from "./pages/terminals.tsx";
import { recordRoutes } from "./pages/records.tsx";
import { denyRoutes } from "./pages/denylist.tsx";
import { clearingRoutes } from "./pages/clearing.tsx";
import { archiveRoutes } from "./pages/archive.tsx";

function setSessionCookie(c: Context, token: string) {
  setCookie(c, COOKIE, token, { httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
}

function LoginPage(props: { session: Session; error?: string; name?: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Log in · icfare console</title>
        <link rel="stylesheet" href="/static/console.css" />
        <link rel="icon" href="data:," />
      </head>
      <body>
        <main class="login">
          <h2>icfare console</h2>
          {props.error ? <p class="error" id="login-error">{props.error}</p> : null}
          <form method="post" action="/login">
            <Csrf session={props.session} />
            <label for="name">Account</label>
            <input id="name" name="name" autocomplete="username" value={props.name ?? ""} />
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" />
            <p>
              <button type="submit">Log in</button>
            </p>
          </form>
        </main>
      </body>
    </html>
  );
}

/** The client's address, for the login limit. */
function clientOf(c: Context): string {
  const info = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr;
  return info?.hostname ?? "unknown";
}

async function login(ctx: ConsoleContext, c: Context<Env>) {
  const form = c.get("form");
  const name = (form.name ?? "").trim(), password = form.password ?? "";
  const client = clientOf(c);
  // what was typed as a name goes to the audit trail, so only as much as a name can be
  const shown = name.slice(0, 32);
  const wait = Math.max(ctx.limiter.wait(shown), ctx.clientLimiter.wait(client));
  const db = ctx.store.connection;
  if (wait > 0) {
    consoleAudit(db, {
      account: shown || "anonymous",
      action: "login",
      target: shown,
      result: "refused",
      detail: "too many failed logins",
    });
    c.header("Retry-After", String(wait));
    c.status(429);
    return c.html(
      <LoginPage
        session={c.get("session")}
        error={`Too many failed logins; try again in ${wait} s.`}
      />,
    );
  }
  const account = await ctx.accounts.verify(name, password);
  if (!account) {
    ctx.limiter.fail(shown);
    ctx.clientLimiter.fail(client);
    consoleAudit(db, {
      account: shown || "anonymous",
      action: "login",
      target: shown,
      result: "refused",
      detail: "unknown account, wrong password or disabled account",
    });
    c.status(401);
    return c.html(
      <LoginPage
        session={c.get("session")}
        name={name}
        error="Account or password not accepted."
      />,
    );
  }
  ctx.limiter.clear(name);
  ctx.sessions.end(c.get("session").token);
  const s = ctx.sessions.create(account.name, account.role, account.updatedAt);
  consoleAudit(db, {
    account: account.name,
    action: "login",
    target: account.name,
    result: "ok",
    detail: `role ${account.role}`,
  });
  setSessionCookie(c, s.token);
  return c.redirect("/day", 303);
}

/**
 * Whether a logged-in session's account is still as it was at login: active, same password and
 * role (its `updated_at` unchanged). `icfare console user` runs in another process, so the
 * account row is read on every request (one primary-key lookup).
 */
function accountUnchanged(ctx: ConsoleContext, s: Session): boolean {
  const a = ctx.accounts.get(s.account!);
  return a !== null && a.state === "active" && a.updatedAt === s.accountStamp;
}

function errorPage(e: IcfareError) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refused · icfare console</title>` +
    `<link rel="stylesheet" href="/static/console.css"><link rel="icon" href="data:,"></head><body><main>` +
    `<p class="error" id="refusal">${esc(e.message)} [${esc(e.code)}]</p>` +
    `<p><a href="/day">Back to the day</a></p></main></body></html>`;
}

/** Checks a POST: the session's CSRF token and, when sent, an Origin of this host. */
async function checkPost(ctx: ConsoleContext, c: Context<Env>, s: Session) {
  const origin = c.req.header("origin");
  const host = c.req.header("host");
  let form: Record<string, string> = {};
  const type = c.req.header("content-type") ?? "";
  if (
    type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")
  ) {
    const body = await c.req.parseBody();
    form = Object.fromEntries(
      Object.entries(body).filter(([, v]) => typeof v === "string"),
    ) as Record<string, string>;
  }
  // pages are sent with Referrer-Policy same-origin, so a browser names this origin on its own
  // forms; "null" or another origin is refused, an absent header (not a browser) is left to the
  // token
  const originOk = origin === undefined ||
    (host !== undefined && URL.canParse(origin) && new URL(origin).host === host);
  if (!originOk || !form._csrf || !sameToken(form._csrf, s.csrf)) {
    consoleAudit(ctx.store.connection, {
      account: s.account ?? "anonymous",
      action: `POST ${new URL(c.req.url).pathname}`,
      target: "",
      result: "refused",
      detail: originOk ? "missing or wrong CSRF token" : `foreign origin ${origin}`,
    });
    throw new Refusal(
      403,
      "CSRF_REFUSED",
      "the form's CSRF token is missing or wrong; reload the page",
    );
  }
  c.set("form", form);
}

/** The console app over an opened home. */
export function consoleApp(ctx: ConsoleContext): Hono<Env> {
  const app = new Hono<Env>();
  app.onError((e, c) => {
    if (e instanceof Refusal) return c.html(errorPage(e), e.status);
    if (e instanceof IcfareError) return c.html(errorPage(e), 400);
    console.error(
      `console: ${c.req.method} ${new URL(c.req.url).pathname}: ${(e as Error).stack ?? e}`,
    );
    return c.text("internal error", 500);
  });
  app.use("*", async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "same-origin");
    c.header(
      "Content-Security-Policy",
      "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });
  app.get("/static/console.css", (c) => {
    c.header("Content-Type", "text/css; charset=utf-8");
    return c.body(CSS);
  });
  // sessions: an anonymous one for the login page, a logged-in one everywhere else
  app.use("*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    let s = ctx.sessions.get(getCookie(c, COOKIE));
    if (s?.account && !accountUnchanged(ctx, s)) {
      ctx.sessions.end(s.token);
      s = null;
    }
    if (path === "/login") {
      if (!s) {
        s = ctx.sessions.create(null, null);
        setSessionCookie(c, s.token);
      }
    } else if (!s?.account) {
      if (c.req.method !== "GET") throw new Refusal(403, "NOT_LOGGED_IN", "log in first");
      return c.redirect("/login", 303);
    }
    c.set("session", s);
    if (c.req.method === "POST") await checkPost(ctx, c, s);
    else if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      throw new Refusal(400, "METHOD", `${c.req.method} is not used here`);
    }
    await next();
    return undefined;
  });
  app.get("/login", (c) => {
    const s = c.get("session");
    if (s.account) return c.redirect("/day", 303);
    return c.html(<LoginPage session={s} />);
  });
  app.post("/login", (c) => login(ctx, c));
  app.post("/logout", (c) => {
    const s = c.get("session");
    ctx.sessions.end(s.token);
    consoleAudit(ctx.store.connection, {
      account: s.account!,
      action: "logout",
      target: s.account!,
      result: "ok",
      detail: "",
    });
    deleteCookie(c, COOKIE, { path: "/", secure: true });
    return c.redirect("/login", 303);
  });
  app.get("/", (c) => c.redirect("/day", 303));
  const days = new DayCache(ctx.store.connection);
  app.route("/day", dayRoutes(ctx, days));
  app.route("/terminals", terminalRoutes(ctx));
  app.route("/records", recordRoutes(ctx));
  app.route("/denylist", denyRoutes(ctx));
  app.route("/clearing", clearingRoutes(ctx, days));
  app.route("/archive", archiveRoutes(ctx));
  app.notFound((c) => c.html(errorPage(new Refusal(404, "NOT_FOUND", "no such page")), 404));
  return app;
}
