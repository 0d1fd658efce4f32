/** icfare core: the domain library both doors (CLI and server) use. */
export * from "./hex.ts";
export * from "./mask.ts";
export * from "./tlv/mod.ts";
