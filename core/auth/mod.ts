/** Terminal authentication: request signing and verification, terminal key lookup. */
export * from "./hmac.ts";
export * from "./terminal_keys.ts";
