/**
 * A simulated day uploaded into a store through the real upload app (in process), for store
 * verification tests: the world, its issuer key file, the ground truth per record and the
 * verification keys as `verifyStore` takes them.
 */
import { assertEquals } from "@icfare/assert";
import type { World } from "../../sim/world.ts";
import type { TruthRow } from "../../sim/day.ts";
import { capkFile, keysFile, revocationsFile } from "../../sim/simulate.ts";
import { createApp } from "../../server/app.ts";
import { StaticTerminalKeys } from "../../core/auth/terminal_keys.ts";
import { signRequest } from "../../core/auth/hmac.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import type { Store } from "../../core/store/store.ts";
import type { CapkRecord } from "../../core/keys/store.ts";
import type { UploadBatch } from "../../core/upload/schema.ts";
import { parseKeyFile } from "../../core/emv/issuer_keys.ts";
import type { VerifyKeys } from "../../core/verify_store.ts";
import { simDay } from "./sim_day.ts";

/** The pan-hash and card-data keys of these tests (hex). */
export const PAN_KEYS = { panHash: "11".repeat(32), data: "22".repeat(32) };

/** The world's CA public keys as the key store would list them. */
export function capkRecords(world: World): CapkRecord[] {
  const revoked = revocationsFile(world).revoked;
  return capkFile(world).capks.map((c) => ({
    ...c,
    algorithm: c.algorithm as "rsa" | "sm2",
    state: "active" as const,
    importedAt: "2026-06-24T00:00:00Z",
    revokedSerials: revoked.filter((r) => r.rid === c.rid && r.index === c.index).map((r) =>
      r.serial
    ),
  }));
}

/** Verification keys of `world` (issuer keys from its key file, its CA keys). */
export function verifyKeysOf(world: World): VerifyKeys {
  return {
    imkAc: parseKeyFile(keysFile(world)).listImkAc(),
    configs: [],
    capks: capkRecords(world),
  };
}

/** The real upload app over `store` with the world's terminal keys, and a signed upload. */
export async function appUploader(store: Store, world: World) {
  const termKeys: Record<string, string> = {};
  for (const k of keysFile(world).keys) if (k.usage === "terminal-auth") termKeys[k.id] = k.value;
  const keys = await StaticTerminalKeys.fromHex(termKeys);
  const pan = await DevPanProtector.fromHex(PAN_KEYS.panHash, PAN_KEYS.data);
  const { app } = createApp({ store, keys, pan, ratePerS: 1e6, burst: 1e6 });
  /** POSTs one batch, signed by its terminal's key, through the app. */
  const upload = async (body: UploadBatch) => {
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const auth = await signRequest({
      key: (await keys.hmacKey(body.terminalId))!,
      terminalId: body.terminalId,
      method: "POST",
      path: "/v1/batches",
      body: bytes,
    });
    return await app.request("/v1/batches", {
      method: "POST",
      body: bytes,
      headers: { authorization: auth, "content-type": "application/json" },
    });
  };
  return { upload, pan };
}

export interface LoadedDay {
  readonly world: World;
  /** Ground truth by `terminal/batchNo/seq`, for the stored batches. */
  readonly truth: Map<string, TruthRow>;
  /** Upload function through the same app (for extra batches made by a test). */
  readonly upload: (body: UploadBatch) => Promise<Response>;
}

/** Simulates a day and uploads every batch the manifest stores into `store`. */
export async function loadSimDay(
  store: Store,
  o: { seed: string; cards: number; terminals: number; taps: number; faults?: string[] },
): Promise<LoadedDay> {
  const { world, batches, manifest } = simDay(o);
  const { upload } = await appUploader(store, world);
  const truth = new Map<string, TruthRow>();
  for (const m of manifest) {
    const out = batches.get(m.file)!;
    const res = await upload(out.body);
    await res.body?.cancel();
    if (m.expect !== "stored") continue;
    assertEquals(res.status, 200, m.file);
    for (const t of out.truth) truth.set(`${t.terminalId}/${t.batchNo}/${t.seq}`, t);
  }
  return { world, truth, upload };
}
