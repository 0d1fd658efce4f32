/**
 * The deny list (docs/denylist.md): its lifecycle over the store (`journal.ts`: holds, versions,
 * history), the signed list terminals download (`signed.ts`) and the report of terminals running
 * a stale list (`stale.ts`). Clearing and collection call `DenyList` (`SqliteStore.denyList`).
 */
export * from "./journal.ts";
export * from "./signed.ts";
export * from "./stale.ts";
export * from "./listed.ts";
