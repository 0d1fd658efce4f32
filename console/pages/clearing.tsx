/**
 * Clearing and settlement (docs/console.md, "Clearing and settlement"): the settlement days and
 * their state; for a day, the ledger per party (the day's postings), settlement (who owes whom)
 * and reconciliation as `icfare clear` wrote them to HOME/clearing/DAY (read back, not
 * recomputed), the day's debts and their states, and the clearing file — sealed, or its masked
 * copy — to download for a role allowed to (operator, auditor; the download is audited).
 */
import { type Context, Hono } from "hono";
import { join } from "node:path";
import type { ReconciliationReport, SettlementReport } from "../../core/clearing/reports.ts";
import { type Debt, DebtBook } from "../../core/debts/book.ts";
import { dateProblem } from "../../core/dates.ts";
import { consoleAudit } from "../accounts.ts";
import type { ConsoleContext } from "../context.ts";
import type { DayCache } from "../day_data.ts";
import { Page, qs, yuan } from "../layout.tsx";
import { type Env, Refusal, requireRole } from "../guard.ts";

type Row = Record<string, unknown>;

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function checkDay(day: string): string {
  const p = dateProblem(day);
  if (p) throw new Refusal(400, "BAD_DATE", `day: ${p}`);
  return day;
}

function Settlement(props: { s: SettlementReport | null }) {
  const s = props.s;
  if (!s) return <p class="muted">No settlement file for the day (run icfare clear).</p>;
  return (
    <>
      <table id="settlement-issuers">
        <tr>
          <th>issuer (BIN)</th>
          <th class="n">cleared</th>
          <th class="n">yuan</th>
          <th class="n">debts</th>
          <th class="n">yuan</th>
        </tr>
        {s.issuers.map((i) => (
          <tr>
            <td>{i.bin}</td>
            <td class="n">{i.cleared.count}</td>
            <td class="n">{yuan(i.cleared.amount)}</td>
            <td class="n">{i.debts.count}</td>
            <td class="n">{yuan(i.debts.amount)}</td>
          </tr>
        ))}
      </table>
      <h3>Bus company, per line</h3>
      <table id="settlement-payees">
        <tr>
          <th>merchant</th>
          <th>line</th>
          <th class="n">records</th>
          <th class="n">gross</th>
          <th class="n">fees</th>
          <th class="n">net payable</th>
        </tr>
        {s.payees.map((p) => (
          <tr>
            <td>{p.merchant}</td>
            <td>{p.line}</td>
            <td class="n">{p.records}</td>
            <td class="n">{yuan(p.gross)}</td>
            <td class="n">{yuan(p.fees)}</td>
            <td class="n">{yuan(p.net)}</td>
          </tr>
        ))}
      </table>
      <p id="settlement-difference" class={s.totals.difference === 0 ? "ok" : "bad"}>
        Totals tie out with a difference of {yuan(s.totals.difference)} yuan (net payable{" "}
        {yuan(s.totals.netPayable)}, fees {yuan(s.totals.fees)}).
      </p>
    </>
  );
}

function Reconciliation(props: { r: ReconciliationReport | null; day: string }) {
  const r = props.r;
  if (!r) return <p class="muted">No reconciliation file for the day.</p>;
  const open = r.batches.filter((b) => b.unexplained.length > 0);
  return (
    <>
      <p id="reconciliation-state" class={r.balanced ? "ok" : "bad"}>
        {r.balanced
          ? "Every batch reconciles."
          : `${open.length} batches with unexplained differences.`} {r.batches.length}{" "}
        batches; EC balances: {r.ecBalances.cards} cards, {r.ecBalances.flagged.length} flagged.
      </p>
      <table id="reconciliation-lines">
        <tr>
          <th>line</th>
          <th class="n">records</th>
          <th class="n">yuan</th>
          <th>what became of them</th>
        </tr>
        {r.byLine.map((l) => (
          <tr>
            <td>{l.line}</td>
            <td class="n">{l.inDay.count}</td>
            <td class="n">{yuan(l.inDay.amount)}</td>
            <td>{Object.entries(l.outcomes).map(([k, t]) => `${k} ${t.count}`).join(", ")}</td>
          </tr>
        ))}
      </table>
      {open.length
        ? (
          <ul>
            {open.map((b) => (
              <li>
                <a href={`/records${qs({ day: props.day, terminal: b.terminal })}`}>
                  {b.terminal} batch {b.batchNo}
                </a>: {b.unexplained.join("; ")}
              </li>
            ))}
          </ul>
        )
        : null}
    </>
  );
}

type C = Context<Env>;

/** The day's debts and their states. */
function DebtTable(props: { debts: Debt[] }) {
  const debts = props.debts;
  return (
    <section class="card">
      <h3>
        Debts of the day ({debts.length}
        {debts.length === 200 ? ", the first 200" : ""})
      </h3>
      <table id="debts">
        <tr>
          <th>debt</th>
          <th>state</th>
          <th>BIN</th>
          <th class="n">yuan</th>
          <th class="n">sends</th>
          <th class="n">declines</th>
          <th>response</th>
          <th>updated</th>
        </tr>
        {debts.map((d) => (
          <tr>
            <td>{d.id}</td>
            <td>{d.state}</td>
            <td>{d.bin}</td>
            <td class="n">{yuan(d.amount)}</td>
            <td class="n">{d.sends}</td>
            <td class="n">{d.declines}</td>
            <td>{d.responseCode ?? "-"}</td>
            <td>{d.updatedAt}</td>
          </tr>
        ))}
      </table>
    </section>
  );
}

/** The settlement days and every day's debts by state. */
function daysPage(ctx: ConsoleContext, c: C) {
  const db = ctx.store.connection;
  const days = db.prepare(
    `SELECT d.day, d.state, d.closed_at, d.closed_by,
       (SELECT count(*) FROM clearing_lines c WHERE c.settlement_day = d.day) AS lines
     FROM settlement_days d ORDER BY d.day DESC`,
  ).all() as Row[];
  const debts = db.prepare(
    "SELECT state, count(*) AS n, sum(amount) AS fen FROM debts GROUP BY state ORDER BY state",
  ).all() as Row[];
  return c.html(
    <Page title="Clearing" path="/clearing" session={c.get("session")}>
      <h2>Clearing and settlement</h2>
      <section class="card">
        <table id="clearing-days">
          <tr>
            <th>settlement day</th>
            <th>state</th>
            <th class="n">clearing lines</th>
            <th>closed</th>
          </tr>
          {days.map((d) => (
            <tr>
              <td>
                <a href={`/clearing/${d.day}`}>{String(d.day)}</a>
              </td>
              <td>{String(d.state)}</td>
              <td class="n">{Number(d.lines)}</td>
              <td>{d.closed_at ? `${d.closed_at} by ${d.closed_by}` : "-"}</td>
            </tr>
          ))}
        </table>
      </section>
      <section class="card">
        <h3>Debts, every day</h3>
        <table id="debts-all">
          <tr>
            <th>state</th>
            <th class="n">debts</th>
            <th class="n">yuan</th>
          </tr>
          {debts.map((d) => (
            <tr>
              <td>{String(d.state)}</td>
              <td class="n">{Number(d.n)}</td>
              <td class="n">{yuan(Number(d.fen))}</td>
            </tr>
          ))}
        </table>
      </section>
    </Page>,
  );
}

/** One day: ledger per party, settlement, reconciliation, debts, the clearing file. */
async function dayPage(ctx: ConsoleContext, cache: DayCache, c: C) {
  const db = ctx.store.connection;
  const day = checkDay(c.req.param("day") ?? "");
  const dir = join(ctx.home, "clearing", day);
  const settlement = await readJson<SettlementReport>(join(dir, `settlement-${day}.json`));
  const recon = await readJson<ReconciliationReport>(join(dir, `reconciliation-${day}.json`));
  const f = cache.get(day);
  const debts = new DebtBook(db, ctx.store.denyList, "console").list({ day, limit: 200 });
  const s = c.get("session");
  const mayDownload = s.role === "operator" || s.role === "auditor";
  return c.html(
    <Page title={`Clearing ${day}`} path="/clearing" session={s}>
      <h2>Settlement day {day}: {f.state === "open" ? "not cleared" : f.state}</h2>
      {mayDownload
        ? (
          <p>
            Clearing file:{" "}
            <a href={`/clearing/${day}/file/sealed`} id="download-sealed">sealed (.icfc)</a> ·{" "}
            <a href={`/clearing/${day}/file/masked`} id="download-masked">masked copy</a>
          </p>
        )
        : <p class="muted">The clearing file is for operators and auditors.</p>}
      <div class="grid">
        <section class="card">
          <h3>Ledger per party (this day's postings)</h3>
          <table id="ledger">
            <tr>
              <th>party</th>
              <th>account</th>
              <th class="n">yuan</th>
            </tr>
            {f.money.map((m) => (
              <tr>
                <td>{m.party}</td>
                <td>{m.account}</td>
                <td class="n">{yuan(m.fen)}</td>
              </tr>
            ))}
          </table>
        </section>
        <section class="card">
          <h3>Settlement</h3>
          <Settlement s={settlement} />
        </section>
        <section class="card">
          <h3>Reconciliation</h3>
          <Reconciliation r={recon} day={day} />
        </section>
        <DebtTable debts={debts} />
      </div>
    </Page>,
  );
}

/** The sealed clearing file or its masked copy, for a role allowed to take it (audited). */
async function download(ctx: ConsoleContext, c: C) {
  const db = ctx.store.connection;
  const day = checkDay(c.req.param("day") ?? ""), kind = c.req.param("kind") ?? "";
  const s = c.get("session");
  const name = kind === "sealed"
    ? `clearing-${day}.icfc`
    : kind === "masked"
    ? `clearing-${day}-masked.txt`
    : null;
  if (!name) throw new Refusal(404, "NOT_FOUND", `no clearing file kind ${kind}`);
  requireRole(ctx, s, "clearing.file", name);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(ctx.home, "clearing", day, name));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Refusal(404, "NO_CLEARING_FILE", `no ${name}: the day is not cleared`);
    }
    throw e;
  }
  consoleAudit(db, {
    account: s.account!,
    action: "clearing.download",
    target: name,
    result: "ok",
    detail: `${bytes.length} bytes`,
  });
  c.header(
    "Content-Type",
    kind === "sealed" ? "application/octet-stream" : "text/plain; charset=utf-8",
  );
  c.header("Content-Disposition", `attachment; filename="${name}"`);
  return c.body(bytes as Uint8Array<ArrayBuffer>);
}

export function clearingRoutes(ctx: ConsoleContext, cache: DayCache): Hono<Env> {
  const app = new Hono<Env>();
  app.get("/", (c) => daysPage(ctx, c));
  app.get("/:day", (c) => dayPage(ctx, cache, c));
  app.get("/:day/file/:kind", (c) => download(ctx, c));
  return app;
}
