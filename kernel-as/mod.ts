/**
 * The icfare WASM kernel: BER-TLV, the cryptography and the verification engine, compiled from
 * `assembly/` by `build.ts`. The module is instantiated once; memory is fixed at 64 MiB and
 * never grows, so the views below stay valid for the life of the process.
 *
 * @example One data object (9F02, the amount) and a truncated one
 * ```ts
 * import { assertEquals } from "@icfare/assert";
 * import { decodeTlv } from "./mod.ts";
 * const r = decodeTlv(Uint8Array.from([0x9f, 0x02, 0x06, 0, 0, 0, 0, 0x02, 0x00]));
 * assertEquals(r.ok && r.entries.map((e) => [e.tag.toString(16), e.length]), [["9f02", 6]]);
 * const bad = decodeTlv(Uint8Array.from([0x9f, 0x02, 0x06, 0, 0]));
 * assertEquals(bad.ok ? "" : bad.code, "TLV_VALUE_OVERRUN");
 * ```
 */
export * from "./kernel.ts";
export * from "./layout.ts";
export * from "./status.ts";
export * from "./sym.ts";
export * from "./hmac.ts";
export * from "./tlv.ts";
export * from "./pk.ts";
export * from "./engine.ts";
