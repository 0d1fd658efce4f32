/**
 * The icfare WASM kernel: BER-TLV and (as families land) the cryptography, compiled from
 * `assembly/` by `build.ts`. The module is instantiated once; memory is fixed at 64 MiB and
 * never grows, so the views below stay valid for the life of the process.
 *
 * @example
 * ```ts
 * import { decodeTlv } from "@icfare/kernel";
 * const r = decodeTlv(Uint8Array.from([0x9f, 0x02, 0x06, 0, 0, 0, 0, 0x02, 0x00]));
 * ```
 */
export * from "./kernel.ts";
export * from "./layout.ts";
export * from "./status.ts";
export * from "./sym.ts";
export * from "./tlv.ts";
export * from "./pk.ts";
export * from "./engine.ts";
