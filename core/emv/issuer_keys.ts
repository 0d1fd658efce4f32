/**
 * Issuer master keys for cryptogram verification, behind a small interface the key store
 * (issue 8, `core/keys/`) backs. `KeyFileSource` reads the development import file of
 * docs/cli.md (`{"keys":[{id,usage,algorithm,issuer,dki,value,kcv}]}`), refusing any key whose
 * KCV does not match.
 */
import { fromHex, toHex } from "../hex.ts";
import { IcfareError } from "../errors.ts";
import { equalBytes, kcv } from "./primitives.ts";
import type { IssuerConfig } from "./profiles.ts";

/** One issuer master key: for the cryptogram (IMK-AC) or the IDD MAC (IMK-MAC). */
export interface IssuerKey {
  readonly id: string;
  /** Default "imk-ac". */
  readonly usage?: "imk-ac" | "imk-mac";
  readonly algorithm: "3des" | "sm4";
  /** Leading PAN digits this key serves. */
  readonly issuer: string;
  /** Derivation key index, 2 hex digits, or undefined for "any". */
  readonly dki?: string;
  readonly value: Uint8Array;
  /** KCV as hex (3 bytes). */
  readonly kcv: string;
}

/** What the verifier asks of wherever issuer keys live. */
export interface IssuerKeySource {
  /**
   * The IMK-AC for a card: longest matching issuer prefix, the DKI from 9F10 (when the key
   * names one), the profile's algorithm. Undefined when the host does not hold it.
   */
  imkAc(pan: string, dki: string | undefined, algorithm: "3des" | "sm4"): IssuerKey | undefined;
  /** The IMK-MAC for a card (same rules), for the IDD MAC; undefined when not held. */
  imkMac?(pan: string, dki: string | undefined, algorithm: "3des" | "sm4"): IssuerKey | undefined;
  /** Profile configuration for the issuer of this PAN. */
  issuerConfig(pan: string): IssuerConfig;
}

/** Thrown when a key file is malformed or a KCV does not match (the import is refused). */
export class KeyImportError extends IcfareError {
  constructor(message: string) {
    super("KEY_IMPORT_INVALID", message);
    this.name = "KeyImportError";
  }
}

/** The key for a card: algorithm, longest issuer prefix, DKI when the key names one. */
function bestKey(
  keys: readonly IssuerKey[],
  pan: string,
  dki: string | undefined,
  algorithm: "3des" | "sm4",
): IssuerKey | undefined {
  let best: IssuerKey | undefined;
  for (const k of keys) {
    if (k.algorithm !== algorithm || !pan.startsWith(k.issuer)) continue;
    if (k.dki !== undefined && dki !== undefined && k.dki !== dki) continue;
    if (!best || k.issuer.length > best.issuer.length) best = k;
  }
  return best;
}

/** In-memory key source. */
export class KeyFileSource implements IssuerKeySource {
  readonly #keys: IssuerKey[] = [];
  readonly #macKeys: IssuerKey[] = [];
  readonly #configs = new Map<string, IssuerConfig>();

  /** Adds a key after checking its KCV (leftmost bytes of E(K)[0…0], as many as given). */
  add(k: IssuerKey): this {
    if (!/^[0-9]{1,19}$/.test(k.issuer)) {
      throw new KeyImportError(`key ${k.id}: issuer must be PAN digits`);
    }
    if (k.dki !== undefined && !/^[0-9A-F]{2}$/.test(k.dki)) {
      throw new KeyImportError(`key ${k.id}: dki must be 2 hex digits`);
    }
    if (k.value.length !== 16) throw new KeyImportError(`key ${k.id}: value must be 16 bytes`);
    const want = fromHex(k.kcv, `key ${k.id} kcv`);
    if (want.length < 2) throw new KeyImportError(`key ${k.id}: kcv must be at least 2 bytes`);
    const got = kcv(k.algorithm, k.value, want.length);
    if (!equalBytes(got, want)) throw new KeyImportError(`key ${k.id}: KCV does not match`);
    (k.usage === "imk-mac" ? this.#macKeys : this.#keys).push(k);
    return this;
  }

  /** Sets the profile configuration of an issuer prefix. */
  configure(issuerPrefix: string, config: IssuerConfig): this {
    this.#configs.set(issuerPrefix, config);
    return this;
  }

  imkAc(pan: string, dki: string | undefined, algorithm: "3des" | "sm4"): IssuerKey | undefined {
    return bestKey(this.#keys, pan, dki, algorithm);
  }

  imkMac(pan: string, dki: string | undefined, algorithm: "3des" | "sm4"): IssuerKey | undefined {
    return bestKey(this.#macKeys, pan, dki, algorithm);
  }

  issuerConfig(pan: string): IssuerConfig {
    let best = "";
    for (const p of this.#configs.keys()) if (pan.startsWith(p) && p.length > best.length) best = p;
    return best ? this.#configs.get(best)! : {};
  }

  get size(): number {
    return this.#keys.length;
  }

  /** Every IMK-AC, in import order (the kernel engine loads them all for a batch). */
  listImkAc(): readonly IssuerKey[] {
    return this.#keys;
  }

  /** Every IMK-MAC, in import order. */
  listImkMac(): readonly IssuerKey[] {
    return this.#macKeys;
  }

  /** Every issuer configuration with its prefix. */
  listConfigs(): readonly (readonly [string, IssuerConfig])[] {
    return [...this.#configs];
  }
}

/**
 * Parses a key import file (docs/cli.md). `imk-ac` keys verify cryptograms, `imk-mac` keys the
 * IDD MAC; other usages are accepted (their KCV is checked too) and ignored here. An optional `issuers` map
 * carries profile configuration: `{"issuers": {"621234": {"profile": "pboc-cvn01-3des"}}}`.
 */
export function parseKeyFile(json: unknown, into = new KeyFileSource()): KeyFileSource {
  const o = json as { keys?: unknown; issuers?: unknown };
  if (!o || typeof o !== "object" || !Array.isArray(o.keys)) {
    throw new KeyImportError(`key file: expected {"keys": [...]}`);
  }
  const staged: IssuerKey[] = [];
  o.keys.forEach((k: Record<string, unknown>, i: number) => {
    const s = (name: string) => {
      const v = k[name];
      if (typeof v !== "string") throw new KeyImportError(`keys[${i}].${name} must be a string`);
      return v;
    };
    const algorithm = s("algorithm");
    const value = (() => {
      try {
        return fromHex(s("value"), `keys[${i}].value`);
      } catch (e) {
        throw new KeyImportError((e as Error).message);
      }
    })();
    if (algorithm === "3des" || algorithm === "sm4") {
      const usage = s("usage");
      const key: IssuerKey = {
        id: s("id"),
        ...(usage === "imk-mac" ? { usage } : {}),
        algorithm,
        issuer: s("issuer"),
        dki: typeof k.dki === "string" ? k.dki.toUpperCase() : undefined,
        value,
        kcv: s("kcv").toUpperCase(),
      };
      const check = new KeyFileSource();
      check.add(key); // KCV check even for usages we do not use
      if (usage === "imk-ac" || usage === "imk-mac") staged.push(key);
    } else if (algorithm !== "hmac-sha256" && algorithm !== "aes") {
      throw new KeyImportError(`keys[${i}].algorithm "${algorithm}" is not supported`);
    }
  });
  for (const k of staged) into.add(k);
  if (o.issuers && typeof o.issuers === "object") {
    for (const [prefix, cfg] of Object.entries(o.issuers as Record<string, IssuerConfig>)) {
      into.configure(prefix, cfg);
    }
  }
  return into;
}

/** KCV of a key as upper-case hex (3 bytes), for reports: never the key itself. */
export function kcvHex(algorithm: "3des" | "sm4", key: Uint8Array): string {
  return toHex(kcv(algorithm, key, 3));
}
