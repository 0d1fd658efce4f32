/**
 * One verify process for the shared-work tests: `verifyStore` over a store named by URL or
 * path, with the issuer and CA keys of a JSON file ({imkAc: [{...value: hex}], capks}) and the
 * test pan keys. Prints `committed N` after each committed chunk and `summary JSON` at the end.
 * Usage: deno run -A verify_runner.ts STORE KEYS.json OWNER CHUNK LEASE_MS [die]
 * With `die`, the process SIGKILLs itself right after its first committed chunk: verification
 * is pipelined (the next chunk is claimed while this one is verified), so at that moment it
 * holds a claim, however fast the machine is.
 */
import { closeStore, openStore, storeLocation } from "../../core/store/open.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import { type VerifyKeys, verifyStore } from "../../core/verify_store.ts";
import { fromHex } from "../../core/hex.ts";
import { PAN_KEYS } from "./sim_store.ts";

const [where, keyFile, owner, chunk, leaseMs, die] = Deno.args;
const raw = JSON.parse(await Deno.readTextFile(keyFile));
const keys: VerifyKeys = {
  imkAc: raw.imkAc.map((k: { value: string }) => ({ ...k, value: fromHex(k.value, "key") })),
  configs: [],
  capks: raw.capks,
};
const store = await openStore(storeLocation("/nonexistent", where));
try {
  const pan = await DevPanProtector.fromHex(PAN_KEYS.panHash, PAN_KEYS.data);
  let last = 0;
  const summary = await verifyStore(store, pan, keys, {
    workers: 1,
    chunk: Number(chunk),
    owner,
    leaseMs: Number(leaseMs),
    onProgress: (done) => {
      console.log(`committed ${done - last}`);
      last = done;
      if (die === "die") Deno.kill(Deno.pid, "SIGKILL");
    },
  });
  console.log(`summary ${JSON.stringify(summary)}`);
} finally {
  await closeStore(store);
}
