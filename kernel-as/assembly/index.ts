// Kernel entry: re-exports every family. Exported `ST_*` constants become WASM globals, so
// the TypeScript status table (../status.ts) and the contract (../contract.ts) are checked
// against the compiled kernel.
export * from "./status";
export * from "./layout_exports";
export * from "./tlv";
export * from "./sym_status";
export * from "./hash";
export * from "./cipher";
export * from "./rsa";
export * from "./sm2";
export * from "./contract";
export * from "./engine";
