/**
 * Key components and the key ceremony (docs/keys.md, "Dual control"): each custodian enters
 * one full-length component with its own KCV; nothing is active until all 2 or 3 are in; the
 * key is their XOR. Components wait in the store wrapped under the master key, each bound to
 * its number (key version `c1`, `c2`, `c3`).
 */
import { KeyStoreError } from "./errors.ts";
import { checkKeyLength, kcv, matchKcv } from "./kcv.ts";
import {
  checkSpec,
  headerFor,
  info,
  type KeyInfo,
  type KeySpec,
  now,
  type PendingKey,
  type StoreData,
} from "./records.ts";
import type { Vault } from "./vault.ts";

/** A component's key spec, the number of parts and the combined key's expected KCV. */
export type ComponentSpec = KeySpec & { parts: number; combinedKcv?: string };

/** What adding a component gives: still pending, or the active key. */
export type ComponentResult =
  | { state: "pending"; have: number; need: number; componentKcv: string }
  | { state: "active"; componentKcv: string; key: KeyInfo };

/**
 * Adds one key component (dual control). The first component fixes the key's spec and the
 * number of parts (2 or 3); each custodian enters one component with its own KCV, which
 * must match; the same custodian twice, a repeated or all-zero component are refused.
 * When the last component is in, the key is the XOR of all of them and becomes active
 * (refused when `combinedKcv` was given and differs).
 */
export async function componentAdd(
  v: Vault,
  s: ComponentSpec,
  custodian: string,
  component: Uint8Array,
  componentKcv: string,
): Promise<ComponentResult> {
  const r = await v.mutate("keys.component-add", (d) => {
    checkSpec(s);
    if (s.combinedKcv !== undefined && !/^([0-9A-Fa-f]{2}){2,8}$/.test(s.combinedKcv)) {
      throw new KeyStoreError("BAD_INPUT", "combined KCV: 2 to 8 bytes of hex (3 or 4 usual)");
    }
    const who = custodian.trim();
    if (who === "") throw new KeyStoreError("BAD_INPUT", "custodian: a name is required");
    const ck = checkComponent(s, component, componentKcv);
    if (d.keys.some((k) => k.id === s.id)) {
      throw new KeyStoreError("KEY_EXISTS", `key ${s.id} already exists`);
    }
    const p = pendingFor(d, s);
    if (p.components.some((c) => c.custodian === who)) {
      throw new KeyStoreError(
        "DUAL_CONTROL",
        `custodian ${who} already entered a component of ${s.id}; each component needs a different custodian`,
      );
    }
    if (p.components.some((c) => c.kcv === ck)) {
      throw new KeyStoreError("COMPONENT_REFUSED", `component repeats an earlier component`);
    }
    const n = p.components.length + 1;
    p.components.push({
      custodian: who,
      kcv: ck,
      at: now(),
      block: v.wrapHeader(headerFor({ ...s, id: `${s.id}#c${n}` }, ck, `c${n}`, false), component),
    });
    if (p.components.length < p.parts) {
      return {
        keyId: s.id,
        kcv: ck,
        detail: `component ${n} of ${p.parts} by ${who}`,
        out: { state: "pending" as const, have: n, need: p.parts, componentKcv: ck },
      };
    }
    return combine(v, d, s, p, who, ck, component.length);
  }, { keyId: s.id });
  if (r.out.state === "refused") throw new KeyStoreError("KCV_MISMATCH", r.out.message);
  return r.out;
}

/** Checks a component's length, that it is not all zeros, and its KCV; returns its KCV. */
function checkComponent(s: KeySpec, component: Uint8Array, componentKcv: string): string {
  checkKeyLength(s.algorithm, component, "component");
  if (component.every((b) => b === 0)) {
    throw new KeyStoreError("COMPONENT_REFUSED", "component: all zeros");
  }
  const ck = kcv(s.algorithm, component);
  if (!matchKcv(s.algorithm, component, componentKcv)) {
    throw new KeyStoreError(
      "KCV_MISMATCH",
      `component KCV ${componentKcv.toUpperCase()} does not match the component entered`,
    );
  }
  return ck;
}

/** The pending key `s.id` (created by the first component; later ones must agree with it). */
function pendingFor(d: StoreData, s: ComponentSpec): PendingKey {
  let p = d.pending.find((x) => x.id === s.id);
  if (!p) {
    if (s.parts !== 2 && s.parts !== 3) {
      throw new KeyStoreError("BAD_INPUT", "parts: a key is entered as 2 or 3 components");
    }
    p = {
      id: s.id,
      usage: s.usage,
      algorithm: s.algorithm,
      issuer: s.issuer,
      dki: s.dki?.toUpperCase(),
      parts: s.parts,
      exportable: s.exportable ?? false,
      combinedKcv: s.combinedKcv?.toUpperCase(),
      createdAt: now(),
      components: [],
    };
    d.pending.push(p);
  } else if (
    p.usage !== s.usage || p.algorithm !== s.algorithm || p.issuer !== s.issuer ||
    p.dki !== s.dki?.toUpperCase() || p.parts !== s.parts
  ) {
    throw new KeyStoreError(
      "COMPONENT_REFUSED",
      `component for ${s.id}: usage/algorithm/issuer/dki/parts differ from the first component`,
    );
  } else if (s.combinedKcv !== undefined) {
    // The expected combined KCV may come with any component (the custodian who holds the
    // form): it is kept, and a different one from another custodian is refused.
    const given = s.combinedKcv.toUpperCase();
    if (p.combinedKcv === undefined) p.combinedKcv = given;
    else if (p.combinedKcv !== given) {
      throw new KeyStoreError(
        "COMPONENT_REFUSED",
        `--combined-kcv ${given} differs from ${p.combinedKcv} given with an earlier component of ${s.id}`,
      );
    }
  }
  return p;
}

/** All components are in: XOR them into the key and make it active (or discard them). */
function combine(
  v: Vault,
  d: StoreData,
  s: ComponentSpec,
  p: PendingKey,
  who: string,
  ck: string,
  length: number,
) {
  const n = p.components.length;
  const key = new Uint8Array(length);
  try {
    for (const [i, c] of p.components.entries()) {
      const u = v.unwrapBlock(c.block);
      if (u.header.keyVersion !== `c${i + 1}` || kcv(s.algorithm, u.key) !== c.kcv) {
        u.key.fill(0);
        throw new KeyStoreError("KEYSTORE_TAMPERED", `component ${i + 1} of ${s.id} altered`);
      }
      for (let j = 0; j < key.length; j++) key[j] ^= u.key[j];
      u.key.fill(0);
    }
    const combined = kcv(s.algorithm, key);
    d.pending = d.pending.filter((x) => x.id !== s.id);
    if (p.combinedKcv !== undefined && !matchKcv(s.algorithm, key, p.combinedKcv)) {
      // Refused, and the components are discarded (committed): the ceremony starts over.
      const msg =
        `combined key KCV ${combined} is not the expected ${p.combinedKcv}; components discarded`;
      return {
        keyId: s.id,
        kcv: combined,
        result: "refused" as const,
        detail: `KCV_MISMATCH: ${msg}`,
        out: { state: "refused" as const, message: msg },
      };
    }
    const rec = v.addRecord(d, { ...s, dki: p.dki, exportable: p.exportable }, key, "components");
    return {
      keyId: s.id,
      kcv: rec.kcv,
      detail: `component ${n} of ${p.parts} by ${who}; key active (custodians ${
        p.components.map((c) => c.custodian).join(", ")
      })`,
      out: { state: "active" as const, componentKcv: ck, key: info(rec) },
    };
  } finally {
    key.fill(0);
  }
}
