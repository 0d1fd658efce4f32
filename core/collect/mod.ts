/** Collecting ODA debts over the acquirer link (docs/iso8583.md, docs/clearing.md). */
export * from "./collect.ts";
export * from "./request.ts";
