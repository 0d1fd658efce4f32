/**
 * The day at a glance (docs/console.md, "The day"): taps and uploads per hour, terminals that
 * sent nothing, verdicts, clearing outcomes by reason, exceptions, money per party from the
 * day's ledger postings, debts and deny-list changes; every count links to its records.
 */
import { Hono } from "hono";
import { raw } from "hono/html";
import {
  denyChangesChart,
  moneyChart,
  outcomesChart,
  tapsPerHourChart,
  verdictsChart,
} from "../../core/report/charts.ts";
import type { Chart } from "../../core/report/charts.ts";
import { dateProblem } from "../../core/dates.ts";
import type { ConsoleContext } from "../context.ts";
import { type DayCache, type DayFigures, storeDays } from "../day_data.ts";
import { Page, qs, yuan } from "../layout.tsx";
import { type Env, Refusal } from "../guard.ts";

function ChartCard(props: { chart: Chart }) {
  return (
    <section class="card chart" data-chart={props.chart.id} data-rows={props.chart.rows}>
      <h3>{props.chart.title}</h3>
      {raw(props.chart.html)}
    </section>
  );
}

function Figures(props: { f: DayFigures; missing: string[] }) {
  const f = props.f;
  const cleared = f.outcomes.filter((o) => o.outcome === "CLEARED");
  const exceptions = f.outcomes.filter((o) => o.outcome === "EXCEPTION");
  const sum = (xs: { records: number }[]) => xs.reduce((s, x) => s + x.records, 0);
  return (
    <div class="figures">
      <div class="figure">
        records<b id="fig-records">
          <a href={`/records${qs({ day: f.day })}`}>{f.records}</a>
        </b>
        <span class="muted">{yuan(f.fen)} yuan</span>
      </div>
      <div class="figure">
        state<b id="fig-state">{f.state === "open" ? "not cleared" : f.state}</b>
      </div>
      <div class="figure">
        cleared<b id="fig-cleared">
          <a href={`/records${qs({ day: f.day, outcome: "CLEARED" })}`}>{sum(cleared)}</a>
        </b>
      </div>
      <div class="figure">
        exceptions<b id="fig-exceptions">
          <a href={`/records${qs({ day: f.day, outcome: "EXCEPTION" })}`}>{sum(exceptions)}</a>
        </b>
      </div>
      <div class="figure">
        terminals<b>{f.terminals.length}</b>
        <span class={props.missing.length ? "warn" : "muted"}>{props.missing.length} silent</span>
      </div>
    </div>
  );
}

function Outcomes(props: { f: DayFigures }) {
  const f = props.f;
  if (f.outcomes.length === 0) return <p class="muted">The day is not cleared yet.</p>;
  return (
    <table id="outcomes">
      <tr>
        <th>outcome</th>
        <th>reason</th>
        <th class="n">records</th>
        <th class="n">yuan</th>
      </tr>
      {f.outcomes.map((o) => (
        <tr>
          <td>{o.outcome}</td>
          <td>{o.reason}</td>
          <td class="n">
            <a href={`/records${qs({ day: f.day, outcome: o.outcome, reason: o.reason })}`}>
              {o.records}
            </a>
          </td>
          <td class="n">{yuan(o.fen)}</td>
        </tr>
      ))}
    </table>
  );
}

function Exceptions(props: { f: DayFigures }) {
  if (props.f.exceptions.length === 0) return <p class="muted">No exceptions.</p>;
  return (
    <table id="exceptions">
      <tr>
        <th>record</th>
        <th>terminal</th>
        <th>tapped at</th>
        <th>PAN</th>
        <th>reason</th>
        <th class="n">yuan</th>
      </tr>
      {props.f.exceptions.map((x) => (
        <tr>
          <td>
            <a href={`/records/${x.id}`} class="exception-link">{x.id}</a>
          </td>
          <td>{x.terminal}</td>
          <td>{x.tappedAt}</td>
          <td>{x.pan ?? "-"}</td>
          <td>{x.reason}</td>
          <td class="n">{yuan(x.fare)}</td>
        </tr>
      ))}
    </table>
  );
}

function Verdicts(props: { f: DayFigures }) {
  return (
    <table id="verdicts">
      <tr>
        <th>verdict</th>
        <th class="n">records</th>
      </tr>
      {props.f.verdicts.map((v) => (
        <tr>
          <td>{v.verdict}</td>
          <td class="n">
            <a href={`/records${qs({ day: props.f.day, status: v.verdict })}`}>{v.records}</a>
          </td>
        </tr>
      ))}
    </table>
  );
}

function Sides(props: { f: DayFigures; missing: string[] }) {
  const f = props.f;
  return (
    <div class="grid">
      <section class="card">
        <h3>Uploads per hour of arrival</h3>
        <table id="uploads">
          <tr>
            <th>hour</th>
            <th class="n">batches</th>
            <th class="n">records of the day</th>
          </tr>
          {f.uploadsByHour.map((u) => (
            <tr>
              <td>{String(u.hour).padStart(2, "0")}:00</td>
              <td class="n">{u.batches}</td>
              <td class="n">{u.records}</td>
            </tr>
          ))}
        </table>
      </section>
      <section class="card">
        <h3>Terminals that sent nothing for the day ({props.missing.length})</h3>
        <p id="silent">
          {props.missing.length === 0
            ? <span class="muted">Every active terminal uploaded.</span>
            : props.missing.map((t) => (
              <>
                <a href={`/terminals#t-${t}`}>{t}</a>
                {" "}
              </>
            ))}
        </p>
        <h3>Debts</h3>
        {f.debts.length === 0 ? <p class="muted">No debts for the day.</p> : (
          <table>
            {f.debts.map((d) => (
              <tr>
                <td>{d.state}</td>
                <td class="n">{d.debts}</td>
                <td class="n">{yuan(d.fen)} yuan</td>
              </tr>
            ))}
          </table>
        )}
        <h3>Deny-list changes made that day ({f.denyChanges.length})</h3>
        <p>
          <a href="/denylist">The deny list and its history</a>
        </p>
      </section>
    </div>
  );
}

/** The day's charts, drawn once per figures object (a new one comes with every change). */
const drawn = new WeakMap<DayFigures, Chart[]>();

function chartsOf(f: DayFigures): Chart[] {
  let charts = drawn.get(f);
  if (!charts) {
    charts = [
      tapsPerHourChart(f.tapsByHour),
      verdictsChart({
        records: f.records,
        byStatus: Object.fromEntries(f.verdicts.map((v) => [v.verdict, v.records])),
        cryptogramChecked: 0,
        cryptogramLeftToIssuer: 0,
        odaChecked: 0,
        rejectedAtUpload: 0,
      }),
      outcomesChart(f.outcomes),
      moneyChart(f.money),
      denyChangesChart(f.denyChanges),
    ];
    drawn.set(f, charts);
  }
  return charts;
}

export function dayRoutes(ctx: ConsoleContext, cache: DayCache) {
  const app = new Hono<Env>();
  app.get("/", async (c) => {
    const days = storeDays(ctx.store.connection);
    const day = c.req.query("day") ?? days[0];
    const s = c.get("session");
    if (!day) {
      return c.html(
        <Page title="Day" path="/day" session={s}>
          <h2>No records yet</h2>
          <p class="muted">Nothing has been uploaded to this store.</p>
        </Page>,
      );
    }
    const problem = dateProblem(day);
    if (problem) throw new Refusal(400, "BAD_DATE", `day: ${problem}`);
    const f = cache.get(day);
    const active = (await ctx.terminals()).filter((t) => t.state === "active")
      .map((t) => t.terminalId);
    const seen = new Set(f.terminals);
    const missing = active.filter((t) => !seen.has(t));
    const charts = chartsOf(f);
    return c.html(
      <Page title={`Day ${day}`} path="/day" session={s}>
        <form method="get" action="/day">
          <h2>
            Settlement day{" "}
            <select name="day" id="day-select">
              {days.map((d) => <option key={d} value={d} selected={d === day}>{d}</option>)}
            </select>{" "}
            <button type="submit">Show</button>
          </h2>
        </form>
        <Figures f={f} missing={missing} />
        <div class="grid" style="margin-top:16px">
          <ChartCard chart={charts[0]} />
          <ChartCard chart={charts[1]} />
          <section class="card">
            <h3>Outcomes by reason</h3>
            <Outcomes f={f} />
            <h3>Verdicts</h3>
            <Verdicts f={f} />
          </section>
          <ChartCard chart={charts[2]} />
          <section class="card">
            <h3>Exceptions (first 25)</h3>
            <Exceptions f={f} />
          </section>
          <ChartCard chart={charts[3]} />
          <ChartCard chart={charts[4]} />
        </div>
        <Sides f={f} missing={missing} />
      </Page>,
    );
  });
  return app;
}
