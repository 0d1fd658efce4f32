/** Clearing and settlement (docs/clearing.md): the outcome table, ledger, clearing file, reports. */
export * from "./deny_port.ts";
export * from "./outcomes.ts";
