/** Kernel memory regions (mirror of assembly/memory.ts; checked against the kernel at load). */
export const PARAM_BASE = 0x0010_0000;
export const PARAM_SIZE = 0x0001_0000;
export const SYM_BASE = 0x0011_0000;
export const PK_BASE = 0x0012_0000;
export const INDEX_BASE = 0x0020_0000;
export const INDEX_SIZE = 0x0020_0000;
export const IN_BASE = 0x0040_0000;
export const IN_SIZE = 0x01C0_0000;
export const OUT_BASE = 0x0200_0000;
export const OUT_SIZE = 0x0100_0000;
export const ENGINE_BASE = 0x0300_0000;
export const ENGINE_SIZE = 0x0040_0000;
export const SM2TAB_BASE = 0x0340_0000;
export const SM2TAB_SIZE = 0x00C0_0000;
export const MEMORY_END = 0x0400_0000;
