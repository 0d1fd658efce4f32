/**
 * CA public key registry for offline data authentication (docs/emv-pboc.md, offline data
 * authentication; docs/keys.md, CA keys; docs/verification.md, conventions):
 * lookup by RID + index, RSA modulus/exponent or SM2 point, expiry checked against the
 * transaction date (9A), SHA-1 checksum verified on import, and a revocation list of issuer
 * certificate serials keyed by (RID, CA index, serial) (EMV Book 2 §5.3 step 10).
 *
 * Storage is not this module's business: `CapkSource` is the small interface the key store
 * (issue 8) backs; `CapkRegistry` is an in-memory implementation used by `verify --file` and
 * tests.
 */
import type { EngineCapk } from "../../kernel-as/engine.ts";
import { concat, equalBytes, sha1 } from "./primitives.ts";
import { fromHex, toHex } from "../hex.ts";
import { IcfareError } from "../errors.ts";

/** One CA public key: what the engine takes (RID, index, key, expiry) plus its checksum. */
export interface Capk extends EngineCapk {
  /** SHA-1 checksum as distributed. */
  readonly checksum: Uint8Array;
}

/** What the verifier needs from wherever CA keys are stored. */
export interface CapkSource {
  /** The key for (RID, index), or undefined. RID and index in upper-case hex. */
  capk(rid: string, index: string): Capk | undefined;
  /** True when the issuer certificate serial (6 hex digits) is revoked under that CA key. */
  isRevoked(rid: string, index: string, serial: string): boolean;
  /**
   * Every key, when the source can list them: the kernel engine then runs ODA itself
   * (otherwise ODA runs on the TypeScript path, with the same results, more slowly).
   */
  list?(): Capk[];
  /** Every revoked serial, listed with `list`. */
  revokedList?(): { rid: string; index: string; serial: string }[];
}

/**
 * The CAPK checksum of docs/verification.md: SHA-1(RID ‖ index ‖ modulus ‖ exponent) for RSA,
 * SHA-1(RID ‖ index ‖ x ‖ y) for SM2.
 */
export function capkChecksum(
  c: Pick<Capk, "rid" | "index" | "algorithm" | "modulus" | "exponent" | "publicKey">,
): Uint8Array {
  const head = concat(fromHex(c.rid, "rid"), fromHex(c.index, "index"));
  if (c.algorithm === "rsa") {
    if (!c.modulus || !c.exponent) throw new RangeError("RSA CAPK needs modulus and exponent");
    return sha1(concat(head, c.modulus, c.exponent));
  }
  if (!c.publicKey || c.publicKey.length !== 64) {
    throw new RangeError("SM2 CAPK needs a 64-byte publicKey x‖y");
  }
  return sha1(concat(head, c.publicKey));
}

/** Thrown when an import file is malformed or a checksum does not match (the import is refused). */
export class CapkImportError extends IcfareError {
  constructor(message: string) {
    super("CAPK_IMPORT_INVALID", message);
    this.name = "CapkImportError";
  }
}

/** The transaction date 9A (YYMMDD, BCD) as YYYY-MM-DD; years 00-49 → 20YY, 50-99 → 19YY. */
export function txnDateIso(d9a: Uint8Array): string | undefined {
  if (d9a.length !== 3) return undefined;
  const s = toHex(d9a);
  if (!/^[0-9]{6}$/.test(s)) return undefined;
  const yy = +s.slice(0, 2);
  const mm = +s.slice(2, 4);
  const dd = +s.slice(4, 6);
  if (mm < 1 || mm > 12 || dd < 1 || dd > 31) return undefined;
  return `${yy < 50 ? 2000 + yy : 1900 + yy}-${s.slice(2, 4)}-${s.slice(4, 6)}`;
}

/** True when the CA key is expired at the transaction date (valid through its expiry day). */
export function capkExpired(c: Capk, txnDate: string): boolean {
  return txnDate > c.expiry;
}

/** In-memory registry; every key's checksum is verified when it is added. */
export class CapkRegistry implements CapkSource {
  readonly #keys = new Map<string, Capk>();
  readonly #revoked = new Set<string>();

  /** Adds a key after checking its checksum; throws `CapkImportError` on mismatch. */
  add(c: Capk): this {
    if (!/^[0-9A-F]{10}$/.test(c.rid)) throw new CapkImportError(`rid must be 10 hex digits`);
    if (!/^[0-9A-F]{2}$/.test(c.index)) throw new CapkImportError(`index must be 2 hex digits`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(c.expiry)) {
      throw new CapkImportError(`CAPK ${c.rid}/${c.index}: expiry must be YYYY-MM-DD`);
    }
    if (c.algorithm === "rsa") {
      const e = c.exponent ? toHex(c.exponent) : "";
      if (e !== "03" && e !== "010001") {
        throw new CapkImportError(`CAPK ${c.rid}/${c.index}: exponent must be 03 or 010001`);
      }
      if (!c.modulus || c.modulus.length < 64 || c.modulus.length > 248 || c.modulus[0] === 0) {
        throw new CapkImportError(`CAPK ${c.rid}/${c.index}: modulus must be 64-248 bytes`);
      }
    }
    let sum: Uint8Array;
    try {
      sum = capkChecksum(c);
    } catch (e) {
      throw new CapkImportError(`CAPK ${c.rid}/${c.index}: ${(e as Error).message}`);
    }
    if (!equalBytes(sum, c.checksum)) {
      throw new CapkImportError(
        `CAPK ${c.rid}/${c.index}: checksum ${toHex(c.checksum)} does not match ${toHex(sum)}`,
      );
    }
    this.#keys.set(c.rid + c.index, c);
    return this;
  }

  /** Revokes an issuer certificate serial (6 hex digits) under (RID, index). */
  revoke(rid: string, index: string, serial: string): this {
    this.#revoked.add(`${rid}${index}${serial}`.toUpperCase());
    return this;
  }

  capk(rid: string, index: string): Capk | undefined {
    return this.#keys.get((rid + index).toUpperCase());
  }

  isRevoked(rid: string, index: string, serial: string): boolean {
    return this.#revoked.has(`${rid}${index}${serial}`.toUpperCase());
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Every key (the kernel engine loads them for a batch). */
  list(): Capk[] {
    return [...this.#keys.values()];
  }

  /** Every revoked serial as (RID, index, serial). */
  revokedList(): { rid: string; index: string; serial: string }[] {
    return [...this.#revoked].map((k) => ({
      rid: k.slice(0, 10),
      index: k.slice(10, 12),
      serial: k.slice(12),
    }));
  }
}

/**
 * Parses a CA public key import file (docs/cli.md):
 * `{"capks":[{rid,index,algorithm,modulus|publicKey,exponent,expiry,checksum}], "revoked"?:[{rid,index,serial}]}`.
 * Every checksum is verified; one bad entry refuses the whole file.
 */
export function parseCapkFile(json: unknown, into = new CapkRegistry()): CapkRegistry {
  const o = json as { capks?: unknown; revoked?: unknown };
  if (!o || typeof o !== "object" || !Array.isArray(o.capks)) {
    throw new CapkImportError(`CAPK file: expected {"capks": [...]}`);
  }
  const str = (v: unknown, what: string, i: number) => {
    if (typeof v !== "string") throw new CapkImportError(`capks[${i}].${what} must be a string`);
    return v;
  };
  const hex = (v: unknown, what: string, i: number) => {
    try {
      return fromHex(str(v, what, i), `capks[${i}].${what}`);
    } catch (e) {
      throw new CapkImportError((e as Error).message);
    }
  };
  const staged: Capk[] = [];
  o.capks.forEach((c: Record<string, unknown>, i: number) => {
    const algorithm = c.algorithm ?? "rsa";
    if (algorithm !== "rsa" && algorithm !== "sm2") {
      throw new CapkImportError(`capks[${i}].algorithm must be "rsa" or "sm2"`);
    }
    staged.push({
      rid: str(c.rid, "rid", i).toUpperCase(),
      index: str(c.index, "index", i).toUpperCase(),
      algorithm,
      ...(algorithm === "rsa"
        ? { modulus: hex(c.modulus, "modulus", i), exponent: hex(c.exponent, "exponent", i) }
        : { publicKey: hex(c.publicKey, "publicKey", i) }),
      expiry: str(c.expiry, "expiry", i),
      checksum: hex(c.checksum, "checksum", i),
    });
  });
  const check = new CapkRegistry();
  for (const c of staged) check.add(c); // throws before anything lands in `into`
  for (const c of staged) into.add(c);
  if (Array.isArray(o.revoked)) {
    o.revoked.forEach((r: Record<string, unknown>, i: number) => {
      const rid = String(r.rid ?? ""),
        index = String(r.index ?? ""),
        serial = String(r.serial ?? "");
      if (
        !/^[0-9A-Fa-f]{10}$/.test(rid) || !/^[0-9A-Fa-f]{2}$/.test(index) ||
        !/^[0-9A-Fa-f]{6}$/.test(serial)
      ) {
        throw new CapkImportError(
          `revoked[${i}] needs rid (10 hex), index (2 hex), serial (6 hex)`,
        );
      }
      into.revoke(rid, index, serial);
    });
  }
  return into;
}
