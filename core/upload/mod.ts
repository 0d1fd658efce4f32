/** The v1 upload contract: schemas, error codes, ingest rules. */
export * from "./schema.ts";
export * from "./errors.ts";
export * from "./ingest.ts";
export * from "./evidence.ts";
