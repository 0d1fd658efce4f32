/**
 * BER-TLV for EMV/PBOC chip data: kernel-backed decoding into trees, canonical encoding,
 * DOL handling, the PBOC-aware tag dictionary and the bit-field decoders.
 */
export * from "./tree.ts";
export * from "./encode.ts";
export * from "./dol.ts";
export * from "./dictionary.ts";
export * from "./decoders.ts";
export * from "./values.ts";
export * from "./render.ts";
