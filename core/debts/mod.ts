/** Debts of the ODA model (docs/clearing.md, "Debts"): states, the book in the store, files. */
export * from "./states.ts";
export * from "./book.ts";
export * from "./files.ts";
