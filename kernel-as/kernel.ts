/** Loads the WASM kernel once and hands out views into its fixed memory. */
import { KERNEL_WASM_BASE64 } from "./kernel_wasm.ts";
import { decodeBase64 } from "./base64.ts";
import * as L from "./layout.ts";

/** Raw exports; families add their functions here as they land. */
export type KernelExports = Record<string, unknown> & {
  memory: WebAssembly.Memory;
  layout(which: number): number;
};

function instantiate(): KernelExports {
  const module = new WebAssembly.Module(decodeBase64(KERNEL_WASM_BASE64) as BufferSource);
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort: (_msg: number, _file: number, line: number, col: number) => {
        throw new Error(`kernel abort at ${line}:${col}`);
      },
    },
  });
  const ex = instance.exports as unknown as KernelExports;
  // Compile-time layout check: static data must end below the first region, and both
  // sides must agree on the map.
  const expected = [
    L.PARAM_BASE,
    L.SYM_BASE,
    L.PK_BASE,
    L.INDEX_BASE,
    L.IN_BASE,
    L.OUT_BASE,
    L.ENGINE_BASE,
    L.SM2TAB_BASE,
    L.MEMORY_END,
  ];
  if (ex.layout(0) > L.PARAM_BASE) throw new Error("kernel static data overlaps PARAM region");
  expected.forEach((v, i) => {
    if (ex.layout(i + 1) !== v) throw new Error(`kernel layout mismatch at region ${i + 1}`);
  });
  if (ex.memory.buffer.byteLength !== L.MEMORY_END) throw new Error("kernel memory size");
  return ex;
}

/** The one kernel instance. */
export const kernel: KernelExports = instantiate();
/** Byte view over all kernel memory (never detached: memory does not grow). */
export const mem: Uint8Array = new Uint8Array(kernel.memory.buffer);
/** Little-endian u32 view (kernel structures are u32-aligned). */
export const mem32: Uint32Array = new Uint32Array(kernel.memory.buffer);

// Results copied out of kernel memory. Deno takes ~0.6 µs to allocate any new ArrayBuffer but
// ~15 ns to make a view, so results of up to POOLED_MAX bytes (digests, MACs, blocks, RSA
// recoveries) are views into a shared pool buffer, as Node's Buffer.allocUnsafe does. Each
// result owns its bytes (no two overlap, nothing rewrites them); only `.buffer` is shared, so
// callers use byteOffset/byteLength with `.buffer` and never transfer or detach it.
const POOLED_MAX = 256;
const POOL_BYTES = 32768;
let pool = new ArrayBuffer(POOL_BYTES);
let poolAt = 0;

/** A new `Uint8Array` holding the `n` bytes of kernel memory at `at` (pooled when small). */
export function copyOut(at: number, n: number): Uint8Array {
  if (n > POOLED_MAX) return mem.slice(at, at + n);
  if (poolAt + n > POOL_BYTES) {
    pool = new ArrayBuffer(POOL_BYTES);
    poolAt = 0;
  }
  const r = new Uint8Array(pool, poolAt, n);
  poolAt += (n + 7) & ~7;
  if (n <= 64) { for (let i = 0; i < n; i++) r[i] = mem[at + i]; }
  else r.set(mem.subarray(at, at + n));
  return r;
}

/** Typed access to a kernel export that must exist. */
export function fn<T extends (...args: never[]) => unknown>(name: string): T {
  const f = kernel[name];
  if (typeof f !== "function") throw new Error(`kernel has no export ${name}`);
  return f as T;
}
