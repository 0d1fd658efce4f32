/**
 * Records (docs/console.md, "Records"): search by settlement day, terminal, verdict or clearing
 * outcome, or by card — the PAN is typed into a POST form, hashed at once with the pan-hash key
 * for each PSN and forgotten; it is never stored, logged or shown, and it never rides in a URL.
 * A record's page shows the stored record (masked PAN), its clearing line, its chip data as a
 * decoded TLV tree (sensitive values masked) and the `explain` trace, as `icfare explain
 * --record` gives it.
 */
import { Hono } from "hono";
import { panHash } from "../../core/store/pan.ts";
import {
  locateRecord,
  queryRecords,
  type RecordFilter,
  type StoredRecord,
  storedTap,
} from "../../core/store/records.ts";
import { parseTlv, type TlvNode } from "../../core/tlv/tree.ts";
import { tagName } from "../../core/tlv/dictionary.ts";
import { renderValue } from "../../core/tlv/values.ts";
import { fromHex } from "../../core/hex.ts";
import type { TapRecord } from "../../core/emv/verify.ts";
import { explainRecord, renderExplanation } from "../../core/emv/explain.ts";
import { issuerKeySource } from "../../core/keys/engine_source.ts";
import { capkRegistry } from "../../core/keys/capk.ts";
import { dateProblem } from "../../core/dates.ts";
import type { ConsoleContext } from "../context.ts";
import { Csrf, Page, qs, yuan } from "../layout.tsx";
import { type Env, Refusal } from "../guard.ts";
import type { Session } from "../sessions.ts";

const PAGE = 100;

/** The GET search's filter, each field checked at the door. */
function filterOf(q: Record<string, string>): RecordFilter & { page: number } {
  const f: Record<string, string | undefined> = {};
  for (const k of ["day", "terminal", "status", "outcome", "reason"]) {
    f[k] = q[k] === undefined || q[k] === "" ? undefined : q[k];
  }
  if (f.day && dateProblem(f.day)) throw new Refusal(400, "BAD_DATE", `day: ${dateProblem(f.day)}`);
  if (f.terminal && !/^[0-9A-Za-z]{8}$/.test(f.terminal)) {
    throw new Refusal(400, "BAD_TERMINAL", "terminal: 8 letters or digits");
  }
  if (f.status && !/^(pending|rejected|verified|[A-Z][A-Z0-9_]{1,40})$/.test(f.status)) {
    throw new Refusal(400, "BAD_STATUS", "status: pending, rejected, verified or a status code");
  }
  if (f.outcome && !["CLEARED", "DEBT", "EXCEPTION", "DUPLICATE"].includes(f.outcome)) {
    throw new Refusal(400, "BAD_OUTCOME", "outcome: CLEARED, DEBT, EXCEPTION or DUPLICATE");
  }
  if (f.reason && (!f.outcome || !/^[A-Z][A-Z0-9_]{1,40}$/.test(f.reason))) {
    throw new Refusal(400, "BAD_REASON", "reason: a reason code, with its outcome");
  }
  const page = Number(q.page ?? "1");
  if (!Number.isInteger(page) || page < 1 || page > 100000) {
    throw new Refusal(400, "BAD_PAGE", "page: a positive integer");
  }
  return {
    day: f.day,
    terminalId: f.terminal,
    status: f.status,
    outcome: f.outcome,
    reason: f.reason,
    limit: PAGE,
    offset: (page - 1) * PAGE,
    page,
  };
}

function SearchForm(props: { q: Record<string, string>; session: Session }) {
  const q = props.q;
  return (
    <section class="card">
      <form method="get" action="/records" id="search">
        day <input name="day" value={q.day ?? ""} size={10} placeholder="YYYY-MM-DD" /> terminal
        {" "}
        <input name="terminal" value={q.terminal ?? ""} size={9} /> verdict{" "}
        <input name="status" value={q.status ?? ""} size={14} /> outcome{" "}
        <input name="outcome" value={q.outcome ?? ""} size={10} /> reason{" "}
        <input name="reason" value={q.reason ?? ""} size={14} />{" "}
        <button type="submit">Search</button>
      </form>
      <form method="post" action="/records/card" id="card-search" autocomplete="off">
        <Csrf session={props.session} />
        card: PAN <input name="pan" type="password" size={22} autocomplete="off" /> PSN{" "}
        <input name="psn" size={3} placeholder="all" />{" "}
        <button type="submit">Find the card's records</button>{" "}
        <span class="muted">(hashed at once, never stored or shown)</span>
      </form>
    </section>
  );
}

function RecordTable(props: { records: StoredRecord[] }) {
  return (
    <table id="records">
      <tr>
        <th>id</th>
        <th>tapped at</th>
        <th>terminal</th>
        <th>batch/seq</th>
        <th>line</th>
        <th class="n">yuan</th>
        <th>PAN</th>
        <th>PSN</th>
        <th>ATC</th>
        <th>verdict</th>
      </tr>
      {props.records.map((r) => (
        <tr>
          <td>
            <a href={`/records/${r.id}`}>{r.id}</a>
          </td>
          <td>{r.tappedAt}</td>
          <td>{r.terminalId}</td>
          <td>{r.batchNo}/{r.seq}</td>
          <td>{r.line}</td>
          <td class="n">{yuan(r.fare)}</td>
          <td>{r.pan ?? "-"}</td>
          <td>{r.psn ?? "-"}</td>
          <td>{r.atc ?? "-"}</td>
          <td>{r.status}</td>
        </tr>
      ))}
    </table>
  );
}

function TlvTree(props: { nodes: readonly TlvNode[] }) {
  return (
    <ul class="tlv">
      {props.nodes.map((n) => {
        if (n.constructed) {
          return (
            <li>
              <span class="tag">{n.tag}</span> {tagName(n.tag)} [{n.value.length}]
              <TlvTree nodes={n.children} />
            </li>
          );
        }
        const r = renderValue(n.tag, n.value);
        return (
          <li>
            <span class="tag">{n.tag}</span> {tagName(n.tag)} [{n.value.length}]: {r.text}
            {r.details.length
              ? <ul class="tlv">{r.details.map((d, i) => <li key={i} class="muted">{d}</li>)}</ul>
              : null}
          </li>
        );
      })}
    </ul>
  );
}

type Row = Record<string, unknown>;

/** The explain trace of a tap with the key store's issuer and CA keys (as explain --record). */
async function traceOf(ctx: ConsoleContext, record: TapRecord): Promise<string[]> {
  const ks = await ctx.keyStore("console");
  try {
    const keys = issuerKeySource(ks);
    try {
      const capks = capkRegistry(ks.capkList());
      return renderExplanation(explainRecord(record, { keys: keys.source, capks }));
    } finally {
      keys.wipe();
    }
  } finally {
    ks.close();
  }
}

async function recordPage(ctx: ConsoleContext, s: Session, id: number) {
  const at = locateRecord(ctx.store.connection, id);
  if (!at) throw new Refusal(404, "RECORD_NOT_FOUND", `no record ${id}`);
  const tap = (await storedTap(ctx.store.connection, ctx.store, ctx.dataKey, id))!;
  const r = tap.stored;
  const line = ctx.store.connection.prepare(
    "SELECT outcome, reason, rule, model, fee, deny_reason FROM clearing_lines WHERE record_id = ?",
  ).get(id) as Row | undefined;
  const parsed = parseTlv(fromHex(tap.record.icc));
  const trace = await traceOf(ctx, tap.record);
  return (
    <Page title={`Record ${id}`} path="/records" session={s}>
      <h2>Record {id}</h2>
      <section class="card">
        <table id="record">
          <tr>
            <th>terminal</th>
            <td>
              <a href={`/records?terminal=${r.terminalId}`}>{r.terminalId}</a> batch {r.batchNo} seq
              {" "}
              {r.seq}
            </td>
          </tr>
          <tr>
            <th>tapped at</th>
            <td>{r.tappedAt} (received {r.receivedAt})</td>
          </tr>
          <tr>
            <th>line, vehicle, stop</th>
            <td>{r.line}, {r.vehicle}, {r.stop ?? "-"}</td>
          </tr>
          <tr>
            <th>fare</th>
            <td>{yuan(r.fare)} yuan</td>
          </tr>
          <tr>
            <th>card</th>
            <td id="record-pan">{r.pan ?? "-"} PSN {r.psn ?? "-"} ATC {r.atc ?? "-"}</td>
          </tr>
          <tr>
            <th>verdict</th>
            <td id="record-status">
              {r.status} {r.cryptogram ? `(cryptogram ${r.cryptogram}, ODA ${r.oda})` : ""}{" "}
              {r.message ?? ""}
            </td>
          </tr>
          <tr>
            <th>clearing</th>
            <td id="record-clearing">
              {line
                ? `${line.outcome} ${line.reason} (rule ${line.rule}, model ${line.model}, fee ${
                  yuan(Number(line.fee))
                } yuan${line.deny_reason ? `, deny list: ${line.deny_reason}` : ""})`
                : "not cleared"}
            </td>
          </tr>
        </table>
      </section>
      <div class="grid">
        <section class="card">
          <h3>Chip data (decoded TLV)</h3>
          {parsed.ok
            ? <TlvTree nodes={parsed.nodes} />
            : <p class="bad">{parsed.code}: {parsed.message} at offset {parsed.offset}</p>}
        </section>
        <section class="card">
          <h3>Explain trace</h3>
          <pre id="explain">{trace.join("\n")}</pre>
        </section>
      </div>
    </Page>
  );
}

export function recordRoutes(ctx: ConsoleContext) {
  const app = new Hono<Env>();
  app.get("/", (c) => {
    const q = c.req.query();
    const f = filterOf(q);
    const { records, more } = queryRecords(ctx.store.connection, f);
    const s = c.get("session");
    const base = {
      day: q.day,
      terminal: q.terminal,
      status: q.status,
      outcome: q.outcome,
      reason: q.reason,
    };
    return c.html(
      <Page title="Records" path="/records" session={s}>
        <h2>Records</h2>
        <SearchForm q={q} session={s} />
        <section class="card">
          <p class="pager">
            {records.length} shown (page {f.page}
            {more ? ", more follow" : ""}){" "}
            {f.page > 1
              ? <a href={`/records${qs({ ...base, page: f.page - 1 })}`}>previous</a>
              : null}
            {more
              ? <a href={`/records${qs({ ...base, page: f.page + 1 })}`} id="next">next</a>
              : null}
          </p>
          <RecordTable records={records} />
        </section>
      </Page>,
    );
  });
  app.post("/card", async (c) => {
    const form = c.get("form");
    const pan = (form.pan ?? "").replace(/[\s-]/g, "");
    form.pan = "";
    if (!/^[0-9]{12,19}$/.test(pan)) throw new Refusal(400, "BAD_PAN", "PAN: 12-19 digits");
    const psn = (form.psn ?? "").trim();
    if (psn !== "" && !/^[0-9]{2}$/.test(psn)) throw new Refusal(400, "BAD_PSN", "PSN: two digits");
    const psns = psn ? [psn] : Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
    const cardHashes = await Promise.all(psns.map((p) => panHash(ctx.panHashKey, pan, p)));
    const { records, more } = queryRecords(ctx.store.connection, { cardHashes, limit: 500 });
    const s = c.get("session");
    return c.html(
      <Page title="Records of a card" path="/records" session={s}>
        <h2>Records of the card {records[0]?.pan ?? "typed in"}</h2>
        <SearchForm q={{}} session={s} />
        <section class="card">
          <p>{records.length} records{more ? " (the first 500)" : ""}</p>
          <RecordTable records={records} />
        </section>
      </Page>,
    );
  });
  app.get("/:id", async (c) => {
    const id = c.req.param("id");
    if (!/^[1-9][0-9]{0,15}$/.test(id)) throw new Refusal(400, "BAD_RECORD", "record id: a number");
    return c.html(await recordPage(ctx, c.get("session"), Number(id)));
  });
  return app;
}
