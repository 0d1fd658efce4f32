/**
 * A verification worker of `verify_store.ts`: its own kernel instance, the run's issuer keys
 * and CA public keys loaded once, then one engine call (`verifyRecordsKernel`) per job. On
 * `end` (or any failure of `init`) it zeroes its copies of the keys.
 */
/// <reference lib="deno.worker" />
import { KeyFileSource } from "./emv/issuer_keys.ts";
import type { CapkRegistry } from "./emv/capk.ts";
import { capkRegistry } from "./keys/capk.ts";
import { OdaKeyCache } from "./emv/oda.ts";
import { verifyRecordsKernel } from "./emv/batch.ts";
import type { WorkerReply, WorkerRequest } from "./verify_store.ts";

let ctx: { keys: KeyFileSource; capks: CapkRegistry; odaCache: OdaKeyCache } | null = null;
let secrets: Uint8Array[] = [];

function wipe() {
  for (const s of secrets) s.fill(0);
  secrets = [];
  ctx = null;
}

function reply(m: WorkerReply) {
  self.postMessage(m);
}

self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const m = ev.data;
  try {
    if (m.kind === "init") {
      const keys = new KeyFileSource();
      for (const k of [...m.keys.imkAc, ...m.keys.imkMac ?? []]) {
        secrets.push(k.value);
        keys.add(k);
      }
      for (const [prefix, c] of m.keys.configs) keys.configure(prefix, c);
      const capks = capkRegistry(m.keys.capks);
      ctx = { keys, capks, odaCache: new OdaKeyCache() };
      reply({ kind: "ready" });
    } else if (m.kind === "job") {
      if (!ctx) throw new Error("worker not initialised");
      reply({ kind: "done", id: m.id, results: verifyRecordsKernel(m.records, ctx) });
    } else {
      wipe();
      reply({ kind: "ready" });
      self.close();
    }
  } catch (e) {
    if (m.kind === "init") wipe();
    reply({
      kind: "error",
      ...(m.kind === "job" ? { id: m.id } : {}),
      message: e instanceof Error ? e.message : String(e),
    });
  }
};
