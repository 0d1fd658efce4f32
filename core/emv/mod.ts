/**
 * The EMV/PBOC verification engine: key derivation, cryptogram profiles, AC/ARPC, CA public
 * keys, offline data authentication (RSA and SM2), record verification and `explain`.
 * The kernel batch path (`kernel-as/engine.ts`) is checked against these readable functions.
 */
export * from "./primitives.ts";
export * from "./keys.ts";
export * from "./profiles.ts";
export * from "./ac.ts";
export * from "./capk.ts";
export * from "./oda.ts";
export * from "./issuer_keys.ts";
export * from "./verify.ts";
export * from "./explain.ts";
export * from "./batch.ts";
