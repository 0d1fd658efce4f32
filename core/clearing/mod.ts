/** Clearing and settlement (docs/clearing.md): outcomes, ledger, clearing file, reports. */
export type { Card as DenyCard, DenyList, DenyReason } from "../denylist/journal.ts";
export * from "./outcomes.ts";
export * from "./settings.ts";
export * from "./ledger.ts";
export * from "./clear.ts";
export * from "./clearing_key.ts";
export * from "./clearing_file.ts";
export * from "./reports.ts";
export * from "./day_files.ts";
