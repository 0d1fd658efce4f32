/**
 * Archive and audit (docs/console.md, "Archive and audit"): the archived days with their heads,
 * read by the same function as `icfare archive list`; each day's latest audit verdict, and a
 * button that audits a day again as `icfare audit FILE --signer HOUSE-KEY` does (structure,
 * seals, chain, the head's signature by the house's archive signing key; no evidence is opened:
 * that needs an auditor's private key, which the console never holds). Every audit run is in the
 * console's audit trail with the account. Below: the key store's hash chain, verified on every
 * view (as `icfare keys audit` does), and the console's own trail, newest first.
 */
import { Hono } from "hono";
import { join } from "node:path";
import { type ArchivedDay, listArchive } from "../../core/archive/archive.ts";
import { auditArchives, type DayReport } from "../../core/audit/audit.ts";
import { trustedSigner } from "../../core/audit/head.ts";
import type { Finding } from "../../core/audit/findings.ts";
import { publicKeyInfo } from "../../core/keys/signing.ts";
import type { AuditVerdict } from "../../core/keys/audit.ts";
import { IcfareError } from "../../core/errors.ts";
import { consoleAudit, consoleAuditLatest, consoleAuditTail } from "../accounts.ts";
import type { ConsoleContext } from "../context.ts";
import { Csrf, Page } from "../layout.tsx";
import type { Session } from "../sessions.ts";
import { type Env, Refusal } from "../guard.ts";

const AUDIT_ACTION = "archive.audit";

/** The house's archive signing key (KCV and public key), or why there is none. */
async function houseSigner(
  ctx: ConsoleContext,
): Promise<{ kcv: string; publicKey: string } | string> {
  const ks = await ctx.keyStore("console");
  try {
    const k = publicKeyInfo(ks, "archive-sign");
    return { kcv: k.kcv, publicKey: k.publicKey };
  } catch (e) {
    if (e instanceof IcfareError) return e.message;
    throw e;
  } finally {
    ks.close();
  }
}

/** One line for the trail and the table: the verdict and what failed, by code. */
function verdictOf(r: DayReport): string {
  if (r.clean) {
    const notes = r.findings.length;
    return `CLEAN: ${r.records} records, ${r.segments} segments` +
      (notes ? `, ${notes} note${notes === 1 ? "" : "s"}` : "");
  }
  const codes = [...new Set(r.findings.filter((f) => f.severity === "fail").map((f) => f.code))];
  return `NOT CLEAN: ${r.failures} failure${r.failures === 1 ? "" : "s"} (${codes.join(", ")})`;
}

function DayRow(props: {
  d: ArchivedDay;
  last?: { at: string; account: string; detail: string };
  houseKcv: string | null;
  session: Session;
}) {
  const { d, last } = props;
  const signedByHouse = d.signer && props.houseKcv ? d.signer.kcv === props.houseKcv : null;
  return (
    <tr id={`archive-${d.day}`}>
      <td>{d.day}</td>
      <td class="n">{d.records ?? "-"}</td>
      <td class={d.head ? "" : "bad"}>
        {d.head ? <code title={d.head}>{d.head.slice(0, 16)}…</code> : `no head: ${d.problem}`}
      </td>
      <td class={d.linked === false ? "bad" : ""}>
        {d.linked === null ? "first" : d.linked ? "yes" : "NO"}
      </td>
      <td class={signedByHouse === false ? "warn" : ""}>
        {d.signer ? `${d.signer.keyId} (${d.signer.kcv})` : "-"}
      </td>
      <td class={last ? (last.detail.startsWith("CLEAN") ? "ok" : "bad") : "muted"}>
        {last ? `${last.detail} — ${last.account}, ${last.at}` : "not audited here"}
      </td>
      <td>
        <form method="post" action="/archive/audit" class="inline">
          <Csrf session={props.session} />
          <input type="hidden" name="day" value={d.day} />
          <button type="submit">audit</button>
        </form>
      </td>
    </tr>
  );
}

/** Segment, line, record and field of a finding, where it names them. */
function where(f: Finding): string {
  return [
    f.segment === undefined ? "" : `segment ${f.segment}`,
    f.line === undefined ? "" : `line ${f.line}`,
    f.record ? `record ${f.record.ref}` : "",
    f.field ?? "",
  ].filter(Boolean).join(", ");
}

function AuditResult(props: { r: DayReport }) {
  const r = props.r;
  return (
    <section class="card" id="audit-result">
      <h3>Audit of {r.day}</h3>
      <p id="audit-verdict" class={r.clean ? "ok" : "bad"}>{verdictOf(r)}</p>
      <table id="audit-findings">
        <tr>
          <th>code</th>
          <th>severity</th>
          <th>where</th>
          <th>what</th>
        </tr>
        {r.findings.map((f) => (
          <tr>
            <td>{f.code}</td>
            <td class={f.severity === "fail" ? "bad" : "muted"}>{f.severity}</td>
            <td>{where(f)}</td>
            <td>{f.message}</td>
          </tr>
        ))}
      </table>
    </section>
  );
}

function ArchivedDays(props: {
  days: ArchivedDay[];
  house: { kcv: string; publicKey: string } | string;
  latest: Map<string, { at: string; account: string; detail: string }>;
  session: Session;
}) {
  const { days, house } = props;
  return (
    <section class="card">
      <h3>Archived days</h3>
      <p class="muted" id="archive-signer">
        {typeof house === "string"
          ? `No archive signing key: ${house}`
          : `House archive signing key KCV ${house.kcv}; an audit here trusts only it.`}{" "}
        Sealed evidence opens only with an auditor's key: icfare audit FILE --auditor-key.
      </p>
      {days.length === 0
        ? <p class="muted" id="archive-none">No day is archived yet (icfare archive --date).</p>
        : (
          <table id="archive-days">
            <tr>
              <th>day</th>
              <th class="n">records</th>
              <th>head</th>
              <th>chains to the day before</th>
              <th>signer</th>
              <th>latest audit</th>
              <th></th>
            </tr>
            {days.map((d) => (
              <DayRow
                d={d}
                last={props.latest.get(d.day)}
                houseKcv={typeof house === "string" ? null : house.kcv}
                session={props.session}
              />
            ))}
          </table>
        )}
    </section>
  );
}

function Trails(props: { ctx: ConsoleContext; keys: AuditVerdict }) {
  const v = props.keys;
  const trail = consoleAuditTail(props.ctx.store.connection, 100);
  return (
    <>
      <section class="card">
        <h3>Key store audit trail</h3>
        <p id="keys-audit" class={v.ok ? "ok" : "bad"}>
          {v.ok ? "Chain intact" : `Chain broken at line ${v.problem?.line}: ${v.problem?.message}`}
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
    </>
  );
}

async function archivePage(ctx: ConsoleContext, session: Session, result?: DayReport) {
  const days = await listArchive(join(ctx.home, "archive"));
  const house = await houseSigner(ctx);
  const latest = consoleAuditLatest(ctx.store.connection, AUDIT_ACTION);
  const ks = await ctx.keyStore("console");
  let keys;
  try {
    keys = await ks.verifyAudit();
  } finally {
    ks.close();
  }
  return (
    <Page title="Archive and audit" path="/archive" session={session}>
      <h2>Archive and audit</h2>
      {result ? <AuditResult r={result} /> : null}
      <ArchivedDays days={days} house={house} latest={latest} session={session} />
      <Trails ctx={ctx} keys={keys} />
    </Page>
  );
}

export function archiveRoutes(ctx: ConsoleContext) {
  const app = new Hono<Env>();
  app.get("/", async (c) => c.html(await archivePage(ctx, c.get("session"))));
  // every role may audit: it reads the archive and changes nothing but the console's trail
  app.post("/audit", async (c) => {
    const s = c.get("session"), day = c.get("form").day ?? "";
    const d = (await listArchive(join(ctx.home, "archive"))).find((x) => x.day === day);
    if (!d) {
      throw new Refusal(404, "ARCHIVE_DAY_UNKNOWN", `day: ${day || "(none)"} is not archived`);
    }
    const house = await houseSigner(ctx);
    const path = join(ctx.home, "archive", d.file);
    const f = await Deno.open(path);
    const report = await auditArchives([{
      name: d.file,
      chunks: f.readable,
      size: (await f.stat()).size,
    }], { signers: typeof house === "string" ? [] : [trustedSigner(house.publicKey)] });
    const r = report.days[0];
    consoleAudit(ctx.store.connection, {
      account: s.account ?? "anonymous",
      action: AUDIT_ACTION,
      target: day,
      result: "ok",
      detail: verdictOf(r),
    });
    return c.html(await archivePage(ctx, s, r));
  });
  return app;
}
