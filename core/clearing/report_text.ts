/**
 * The human copies of the day's files (docs/clearing.md, "Files of a day"): the masked clearing
 * file and the settlement and reconciliation reports as aligned text. PANs appear masked (first
 * 6, last 4); amounts in yuan with the fen beside totals.
 */
import type { Tally } from "./clear.ts";
import type { DetailLine } from "./clearing_file.ts";
import type { ReconciliationReport, SettlementReport } from "./reports.ts";
import { maskPan } from "../mask.ts";

/** Fen as yuan with two decimals (integer arithmetic, no float). */
export function yuan(fen: number): string {
  const neg = fen < 0, a = Math.abs(fen);
  return `${neg ? "-" : ""}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

/** Aligned columns; numbers right-aligned. */
export function textTable(head: string[], rows: (string | number)[][]): string[] {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const right = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  return cells.map((r) =>
    r.map((c, i) => (right[i] ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ").trimEnd()
  );
}

const MASKED_HEAD = [
  "n".padStart(7),
  "ref".padEnd(24),
  "terminal",
  "line".padEnd(8),
  "PAN".padEnd(19),
  "PSN",
  "ATC ",
  "amount".padStart(10),
  "type",
  "cryptogram".padEnd(16),
  "model",
  "issuer verifies",
].join("  ");

/** The masked copy's header lines. */
export function maskedHeader(day: string, sealedName: string, keyId: string, kcv: string): string {
  return [
    "icfare clearing file — masked copy (the sealed file holds the full PANs)",
    `settlement day  ${day}`,
    `sealed file     ${sealedName} (AES-GCM under clearing key ${keyId}, KCV ${kcv})`,
    "",
    MASKED_HEAD,
    "",
  ].join("\n");
}

/** One record of the masked copy (fixed columns, so it streams). */
export function maskedLine(d: DetailLine): string {
  return [
    String(d.n).padStart(7),
    d.ref.padEnd(24),
    d.terminal.padEnd(8),
    d.line.padEnd(8),
    maskPan(d.pan).padEnd(19),
    d.psn.padEnd(3),
    d.atc.padEnd(4),
    yuan(d.amount).padStart(10),
    d.cryptogramType.padEnd(4),
    d.cryptogram.padEnd(16),
    d.model.padEnd(5),
    d.issuerVerifies ? "yes" : "-",
  ].join("  ").trimEnd() + "\n";
}

/** The masked copy's closing lines. */
export function maskedTrailer(count: number, amount: number, sha256: string): string {
  return `\ncount ${count}, amount ${yuan(amount)} yuan (${amount} fen)\n` +
    `sha256 of the detail lines (as in the sealed file's trailer) ${sha256}\n`;
}

const t = (x: Tally) => `${x.count} / ${yuan(x.amount)}`;

/** The settlement report as text. */
export function settlementText(r: SettlementReport): string {
  const out = [`icfare settlement — day ${r.day} (count / yuan)`, "", "issuers (BIN)"];
  out.push(
    ...textTable(
      ["BIN", "cleared (issuer owes)", "debts to collect", "issuer verifies"],
      r.issuers.map((i) => [i.bin, t(i.cleared), t(i.debts), i.issuerVerifies]),
    ),
    "",
    "bus companies and lines",
    ...textTable(
      ["merchant", "line", "records", "gross", "fees", "net payable", "late (acquirer's loss)"],
      r.payees.map((p) => [
        p.merchant,
        p.line,
        p.records,
        yuan(p.gross),
        yuan(p.fees),
        yuan(p.net),
        t(p.late),
      ]),
    ),
    "",
    "terminals",
    ...textTable(
      ["terminal", "cleared", "debt", "exception", "duplicate"],
      r.terminals.map((x) => [
        x.terminal,
        ...["CLEARED", "DEBT", "EXCEPTION", "DUPLICATE"].map((k) =>
          t(x.outcomes[k] ?? { count: 0, amount: 0 })
        ),
      ]),
    ),
    "",
    `totals: cleared ${t(r.totals.cleared)}, debts ${t(r.totals.debts)}, late ${
      t(r.totals.late)
    }, ` +
      `fees ${yuan(r.totals.fees)}, net payable ${yuan(r.totals.netPayable)}; ` +
      `difference ${r.totals.difference} fen`,
  );
  return out.join("\n") + "\n";
}

function outcomesCell(o: Record<string, Tally>): string {
  return Object.entries(o).map(([k, v]) => `${k} ${v.count}`).join(", ");
}

/** The reconciliation report as text. */
export function reconciliationText(r: ReconciliationReport): string {
  const out = [
    `icfare reconciliation — day ${r.day}: ${
      r.balanced ? "every batch reconciles" : "UNEXPLAINED DIFFERENCES"
    }`,
    "",
    "batches with records in the day (count / yuan)",
    ...textTable(
      [
        "terminal",
        "batch",
        "declared",
        "stored",
        "rejected at upload",
        "other days",
        "this day",
        "outcomes",
        "unexplained",
      ],
      r.batches.map((b) => [
        b.terminal,
        b.batchNo,
        t(b.declared),
        t(b.stored),
        outcomesCell(b.rejectedAtUpload) || "-",
        t(b.otherDays),
        t(b.inDay),
        outcomesCell(b.outcomes),
        b.unexplained.join("; ") || "-",
      ]),
    ),
  ];
  for (
    const [title, rows] of [
      ["terminals", r.byTerminal.map((x) => [x.terminal, t(x.inDay), outcomesCell(x.outcomes)])],
      ["lines", r.byLine.map((x) => [x.line, t(x.inDay), outcomesCell(x.outcomes)])],
      ["issuers (BIN)", r.byIssuer.map((x) => [x.bin, t(x.inDay), outcomesCell(x.outcomes)])],
    ] as const
  ) {
    out.push("", title, ...textTable(["key", "this day", "outcomes"], rows as string[][]));
  }
  const e = r.ecBalances;
  out.push(
    "",
    `EC balances: ${e.cards} cards, ${e.pairs} consecutive taps checked, ${e.flagged.length} flagged`,
  );
  if (e.flagged.length) {
    out.push(
      ...textTable(
        ["PAN", "ATC", "before", "fare", "expected", "got"],
        e.flagged.map((f) => [
          f.pan,
          `${f.atcFrom}→${f.atcTo}`,
          yuan(f.before),
          yuan(f.fare),
          yuan(f.expected),
          yuan(f.got),
        ]),
      ),
    );
  }
  return out.join("\n") + "\n";
}
