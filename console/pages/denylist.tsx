/**
 * The deny list (docs/console.md, "Deny list"): the listed cards with their reason and version,
 * the journal's latest events, one card's history and open holds; an operator adds a card (PAN
 * typed into a POST form, hashed at once, never stored) or takes one off, always with a reason
 * in words or a ticket — through `SqliteDenyList` as `icfare denylist add|remove` does (reason
 * code OPERATOR, the journal's actor `console:NAME`).
 */
import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { fromHex, toHex } from "../../core/hex.ts";
import { panHash } from "../../core/store/pan.ts";
import type { Card } from "../../core/denylist/journal.ts";
import { consoleAudit } from "../accounts.ts";
import { actorOf, type ConsoleContext } from "../context.ts";
import { Csrf, Head, Page } from "../layout.tsx";
import { type Env, Refusal, requireRole } from "../guard.ts";
import type { Session } from "../sessions.ts";

type Row = Record<string, unknown>;

/** Listed cards shown on the page, the latest first. */
const SHOWN = 100;

/** A card's masked PAN from one of its records, when the store has one. */
function maskedOf(ctx: ConsoleContext, cardHash: string): string {
  const r = ctx.store.connection.prepare(
    "SELECT pan_masked FROM records WHERE card_hash = ? AND pan_masked IS NOT NULL LIMIT 1",
  ).get(fromHex(cardHash)) as Row | undefined;
  return r ? String(r.pan_masked) : "-";
}

function checkRef(ref: string | undefined): string {
  const r = (ref ?? "").trim();
  if (r === "" || r.length > 200) {
    throw new Refusal(400, "BAD_REASON", "reason: why, or a ticket (1-200 characters)");
  }
  return r;
}

function AddForm(props: { session: Session }) {
  if (props.session.role !== "operator") return null;
  return (
    <section class="card">
      <h3>A card by its PAN</h3>
      <form method="post" action="/denylist/add" id="deny-add" autocomplete="off">
        <Csrf session={props.session} />
        PAN <input name="pan" type="password" size={22} autocomplete="off" /> PSN{" "}
        <input name="psn" size={3} value="01" /> reason{" "}
        <input name="ref" size={40} placeholder="why, or a ticket" />{" "}
        <button type="submit">Add to the deny list</button>{" "}
        <button type="submit" formaction="/denylist/remove" id="deny-remove-typed">
          Take off the list
        </button>
      </form>
    </section>
  );
}

function Cards(props: { ctx: ConsoleContext; session: Session }) {
  const dl = props.ctx.store.denyList;
  const cards = dl.cards(SHOWN), all = dl.listedCount();
  if (cards.length === 0) return <p class="muted">No card is listed.</p>;
  return (
    <>
      <p id="deny-count">
        {all} cards listed{all > cards.length ? `; the ${cards.length} listed last are shown` : ""}.
      </p>
      <table id="deny-cards">
        <tr>
          <th>card</th>
          <th>PAN</th>
          <th>PSN</th>
          <th>reason</th>
          <th class="n">version</th>
          <th>take off</th>
        </tr>
        {cards.map((c) => (
          <tr>
            <td>
              <a href={`/denylist/card/${c.cardHash}/${c.psn}`}>{c.cardHash.slice(0, 16)}…</a>
            </td>
            <td>{maskedOf(props.ctx, c.cardHash)}</td>
            <td>{c.psn}</td>
            <td>{c.reason}</td>
            <td class="n">{c.version}</td>
            <td>
              {props.session.role === "operator"
                ? (
                  <form method="post" action="/denylist/remove" class="inline">
                    <Csrf session={props.session} />
                    <input type="hidden" name="card" value={c.cardHash} />
                    <input type="hidden" name="psn" value={c.psn} />
                    <input name="ref" size={18} placeholder="why, or a ticket" />{" "}
                    <button type="submit">remove</button>
                  </form>
                )
                : <span class="muted">-</span>}
            </td>
          </tr>
        ))}
      </table>
    </>
  );
}

function Journal(props: { ctx: ConsoleContext }) {
  const rows = props.ctx.store.connection.prepare(
    `SELECT id, card_hash, psn, event, reason, ref, actor, at, version FROM deny_journal
     ORDER BY id DESC LIMIT 100`,
  ).all() as Row[];
  return (
    <table id="deny-journal">
      <Head cols={["at", "card", "event", "reason", "ref", "by", "version #"]} />
      {rows.map((r) => {
        const h = toHex(r.card_hash as Uint8Array);
        return (
          <tr>
            <td>{String(r.at)}</td>
            <td>
              <a href={`/denylist/card/${h}/${r.psn}`}>{h.slice(0, 16)}…</a>
            </td>
            <td>{String(r.event)}</td>
            <td>{String(r.reason)}</td>
            <td>{String(r.ref)}</td>
            <td>{String(r.actor)}</td>
            <td class="n">{r.version == null ? "-" : String(r.version)}</td>
          </tr>
        );
      })}
    </table>
  );
}

/** One card: whether it is listed, its open holds, its journal. */
function cardPage(ctx: ConsoleContext, c: Context<Env>) {
  const dl = ctx.store.denyList;
  const card: Card = {
    cardHash: (c.req.param("hash") ?? "").toUpperCase(),
    psn: c.req.param("psn") ?? "",
  };
  if (!/^[0-9A-F]{64}$/.test(card.cardHash) || !/^[0-9]{2}$/.test(card.psn)) {
    throw new Refusal(400, "BAD_CARD", "card: 64 hex digits and a two-digit PSN");
  }
  const holds = dl.holds(card), history = dl.history(card);
  return c.html(
    <Page title="Card on the deny list" path="/denylist" session={c.get("session")}>
      <h2>
        Card {maskedOf(ctx, card.cardHash)} PSN {card.psn}:{" "}
        <span id="card-listed">{dl.isListed(card) ? "listed" : "not listed"}</span>
      </h2>
      <section class="card">
        <p>
          Open holds:{" "}
          {holds.length ? holds.map((h) => `${h.reason} ${h.ref ?? ""}`).join(", ") : "none"}
        </p>
        <table id="card-history">
          <Head cols={["at", "event", "reason", "ref", "by", "version #"]} />
          {history.map((e) => (
            <tr>
              <td>{e.at}</td>
              <td>{e.event}</td>
              <td>{e.reason}</td>
              <td>{e.ref ?? "-"}</td>
              <td>{e.by}</td>
              <td class="n">{e.version ?? "-"}</td>
            </tr>
          ))}
        </table>
      </section>
    </Page>,
  );
}

/** The card a deny-list form names: typed in (hashed at once), or by its hash from a row. */
async function cardOfForm(ctx: ConsoleContext, op: string, form: Record<string, string>) {
  const pan = (form.pan ?? "").replace(/[\s-]/g, "");
  form.pan = "";
  if (op === "remove" && pan === "") {
    return { cardHash: (form.card ?? "").toUpperCase(), psn: form.psn ?? "" };
  }
  // a card typed in (to add, or to take off one not among those shown)
  if (!/^[0-9]{12,19}$/.test(pan)) throw new Refusal(400, "BAD_PAN", "PAN: 12-19 digits");
  const psn = (form.psn ?? "").trim();
  if (!/^[0-9]{2}$/.test(psn)) throw new Refusal(400, "BAD_PSN", "PSN: two digits");
  return { cardHash: toHex(await panHash(ctx.panHashKey, pan, psn)), psn };
}

export function denyRoutes(ctx: ConsoleContext): Hono<Env> {
  const app = new Hono<Env>();
  const dl = ctx.store.denyList;
  const page = (s: Session, notice?: Child) => (
    <Page title="Deny list" path="/denylist" session={s}>
      <h2>Deny list, version {dl.version()}</h2>
      {notice}
      <AddForm session={s} />
      <section class="card">
        <h3>Listed cards</h3>
        <Cards ctx={ctx} session={s} />
      </section>
      <section class="card">
        <h3>History (latest 100 events)</h3>
        <Journal ctx={ctx} />
      </section>
    </Page>
  );
  app.get("/", (c) => c.html(page(c.get("session"))));
  app.get("/card/:hash/:psn", (c) => cardPage(ctx, c));
  app.post("/:op", async (c) => {
    const s = c.get("session"), form = c.get("form"), op = c.req.param("op");
    if (op !== "add" && op !== "remove") throw new Refusal(404, "NOT_FOUND", `no deny-list ${op}`);
    requireRole(ctx, s, "denylist.change", form.card ?? "a card typed in");
    const card: Card = await cardOfForm(ctx, op, form);
    const ref = checkRef(form.ref);
    const before = dl.version();
    const v = op === "add"
      ? dl.add(card, "OPERATOR", actorOf(s.account!), ref)
      : dl.remove(card, "OPERATOR", actorOf(s.account!), ref);
    consoleAudit(ctx.store.connection, {
      account: s.account!,
      action: `denylist.${op}`,
      target: `${card.cardHash.slice(0, 16)}…/${card.psn}`,
      result: "ok",
      detail: `${ref}; version ${before} -> ${v}`,
    });
    const words = v === before ? "unchanged" : `now version ${v}`;
    return c.html(page(
      s,
      <p class="notice" id="notice">
        Card {maskedOf(ctx, card.cardHash)}/{card.psn}{" "}
        {op === "add" ? "added" : "removed"}: the list is {words}.
      </p>,
    ));
  });
  return app;
}
