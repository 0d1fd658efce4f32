/**
 * Terminals (docs/console.md, "Terminals"): state, model, key version and KCV, last upload and
 * the deny-list version it ran; disable, enable and key rotation through the key store's own
 * operations (the same as `icfare terminals`), so the same rules hold, the key store's audit
 * trail names the account (`console:NAME`) and running upload servers see the change at their
 * next request. A rotated key is shown once, on the answer to the POST, and never again.
 */
import { Hono } from "hono";
import type { Child } from "hono/jsx";
import { staleReport, type TerminalListState } from "../../core/denylist/stale.ts";
import { consoleAudit } from "../accounts.ts";
import { actorOf, type ConsoleContext } from "../context.ts";
import { Csrf, Page } from "../layout.tsx";
import { type Env, Refusal, requireRole } from "../guard.ts";
import type { Session } from "../sessions.ts";
import type { TerminalRecord } from "../../core/keys/mod.ts";
import { IcfareError } from "../../core/errors.ts";

type Row = Record<string, unknown>;

interface TerminalRow {
  t: TerminalRecord & { kcv?: string };
  last?: TerminalListState;
  model?: string;
}

function rows(ctx: ConsoleContext, terminals: (TerminalRecord & { kcv?: string })[]) {
  const db = ctx.store.connection;
  const stale = staleReport(db, ctx.store.denyList, { maxVersions: 0, maxAgeMs: 5 * 60_000 });
  const last = new Map(stale.terminals.map((t) => [t.terminalId, t]));
  const model = db.prepare(
    "SELECT model FROM records WHERE terminal_id = ? AND batch_no = ? LIMIT 1",
  );
  const out: TerminalRow[] = terminals.map((t) => {
    const l = last.get(t.terminalId);
    const m = l ? model.get(t.terminalId, l.batchNo) as Row | undefined : undefined;
    return { t, last: l, model: m ? String(m.model) : undefined };
  });
  return { version: stale.version, rows: out };
}

function Actions(props: { session: Session; t: TerminalRecord }) {
  if (props.session.role !== "security") return <span class="muted">-</span>;
  const id = props.t.terminalId;
  const toggle = props.t.state === "active" ? "disable" : "enable";
  return (
    <>
      <form method="post" action={`/terminals/${id}/${toggle}`} class="inline">
        <Csrf session={props.session} />
        <button type="submit" id={`${toggle}-${id}`}>{toggle}</button>
      </form>{" "}
      <form method="post" action={`/terminals/${id}/rotate`} class="inline">
        <Csrf session={props.session} />
        <button type="submit" id={`rotate-${id}`}>rotate key</button>
      </form>
    </>
  );
}

function TerminalTable(props: { session: Session; rows: TerminalRow[] }) {
  return (
    <table id="terminals">
      <tr>
        <th>terminal</th>
        <th>state</th>
        <th>model</th>
        <th class="n">key version</th>
        <th>key KCV</th>
        <th>last upload</th>
        <th class="n">batch</th>
        <th>deny list</th>
        <th>change</th>
      </tr>
      {props.rows.map(({ t, last, model }) => (
        <tr id={`t-${t.terminalId}`}>
          <td>
            <a href={`/records?terminal=${t.terminalId}`}>{t.terminalId}</a>
          </td>
          <td class={t.state === "active" ? "ok" : "bad"} data-state={t.state}>{t.state}</td>
          <td>{model ?? "-"}</td>
          <td class="n">{t.keyVersion}</td>
          <td>{t.kcv ?? "-"}</td>
          <td>{last?.receivedAt ?? "never"}</td>
          <td class="n">{last?.batchNo ?? "-"}</td>
          <td class={last?.state === "stale" ? "warn" : ""}>
            {last
              ? `v${last.reported}, ${last.state}${
                last.behind > 0 ? ` (${last.behind} behind)` : ""
              }`
              : "-"}
          </td>
          <td>
            <Actions session={props.session} t={t} />
          </td>
        </tr>
      ))}
    </table>
  );
}

/** Runs a key-store change as the account; a refusal is audited too (console trail). */
async function change<T>(
  ctx: ConsoleContext,
  s: Session,
  action: string,
  id: string,
  f: (ks: Awaited<ReturnType<ConsoleContext["keyStore"]>>) => Promise<T>,
): Promise<T> {
  requireRole(ctx, s, "terminals.change", id);
  const ks = await ctx.keyStore(actorOf(s.account!));
  try {
    const r = await f(ks);
    consoleAudit(ctx.store.connection, {
      account: s.account!,
      action,
      target: id,
      result: "ok",
      detail: "",
    });
    return r;
  } catch (e) {
    if (e instanceof IcfareError) {
      consoleAudit(ctx.store.connection, {
        account: s.account!,
        action,
        target: id,
        result: "refused",
        detail: `${e.code}: ${e.message}`,
      });
    }
    throw e;
  } finally {
    ks.close();
  }
}

export function terminalRoutes(ctx: ConsoleContext) {
  const app = new Hono<Env>();
  const page = async (s: Session, notice?: Child) => {
    const list = await ctx.terminals();
    const r = rows(ctx, list);
    return (
      <Page title="Terminals" path="/terminals" session={s}>
        <h2>Terminals ({list.length}); deny list version {r.version}</h2>
        {notice}
        <section class="card">
          <TerminalTable session={s} rows={r.rows} />
        </section>
      </Page>
    );
  };
  app.get("/", async (c) => c.html(await page(c.get("session"))));
  app.post("/:id/:op", async (c) => {
    const s = c.get("session");
    const id = c.req.param("id"), op = c.req.param("op");
    if (!/^[0-9A-Za-z]{8}$/.test(id)) {
      throw new Refusal(400, "BAD_TERMINAL", "terminal id: 8 letters or digits");
    }
    if (op === "disable" || op === "enable") {
      await change(
        ctx,
        s,
        `terminals.${op}`,
        id,
        (ks) => op === "disable" ? ks.terminalDisable(id) : ks.terminalEnable(id),
      );
      return c.html(await page(s, <p class="notice" id="notice">Terminal {id} {op}d.</p>));
    }
    if (op === "rotate") {
      const r = await change(ctx, s, "terminals.rotate-key", id, (ks) => ks.terminalRotate(id));
      const notice = (
        <div class="notice" id="notice">
          <p>
            Terminal {id}: key version {r.terminal.keyVersion}, KCV{" "}
            {r.kcv}. HMAC-SHA256 key, shown once — load it into the terminal now:
          </p>
          <p class="once" id="new-key">{r.keyHex}</p>
        </div>
      );
      return c.html(await page(s, notice));
    }
    throw new Refusal(404, "NOT_FOUND", `no terminal operation ${op}`);
  });
  return app;
}
