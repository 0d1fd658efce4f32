/** The simulated acquirer/issuer host of the ISO 8583 link (docs/iso8583.md, "Simulated host"). */
export * from "./host.ts";
export * from "./issuer.ts";
export * from "./truth.ts";
export * from "./faults.ts";
export * from "./ledger.ts";
export * from "./world.ts";
export * from "./taps.ts";
