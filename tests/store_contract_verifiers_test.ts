/**
 * Several verify processes share the pending work of one store (docs/scale.md, "Several
 * verifiers"), on both backends: a verifier subprocess on a simulated day is SIGKILLed while
 * it holds a claim; two more then share what is left, one taking the killed one's batches over
 * once its lease has lapsed. Every record ends with exactly one verdict: nothing
 * stays pending, the records committed by the three add up to the records that were pending, and
 * each verdict is the ground truth's.
 */
import { assert, assertEquals } from "@icfare/assert";
import { DatabaseSync } from "node:sqlite";
import { eachBackend, withStore } from "./support/store_backends.ts";
import { loadSimDay, verifyKeysOf } from "./support/sim_store.ts";
import { toHex } from "../core/hex.ts";
import { openPostgresStore } from "../core/store/postgres.ts";
import type { StoredVerdictDetail } from "../core/verify_store.ts";
import type { TruthRow } from "../sim/day.ts";

const RUNNER = new URL("./support/verify_runner.ts", import.meta.url).pathname;
/**
 * Long enough that the killed verifier's claim is still its own when the test looks, however
 * loaded the machine (the lease runs from the claim, before the first commit); the survivor
 * waits this long once before it takes the claim over.
 */
const LEASE_MS = 6000;

interface Runner {
  readonly child: Deno.ChildProcess;
  readonly lines: string[];
  /** Resolves at the first `committed` line. */
  readonly firstCommit: Promise<void>;
  readonly done: Promise<void>;
}

function startVerifier(
  where: string,
  keyFile: string,
  owner: string,
  chunk: number,
  die = false,
): Runner {
  const args = [where, keyFile, owner, String(chunk), String(LEASE_MS), ...(die ? ["die"] : [])];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", RUNNER, ...args],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const lines: string[] = [];
  let first!: () => void;
  const firstCommit = new Promise<void>((r) => first = r);
  const done = (async () => {
    let buf = "";
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += c;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        lines.push(buf.slice(0, i));
        if (buf.startsWith("committed")) first();
        buf = buf.slice(i + 1);
      }
    }
    first();
  })();
  return { child, lines, firstCommit, done };
}

/** Batches with pending records leased to `owner` (read beside the store, for the check). */
async function leasedTo(where: string, owner: string): Promise<number> {
  if (where.startsWith("postgres")) {
    const s = await openPostgresStore(where);
    try {
      const [r] = await s.sql`SELECT count(*) AS n FROM batches
        WHERE lease_owner = ${owner} AND pending > 0`;
      return Number(r.n);
    } finally {
      await s.closeAsync();
    }
  }
  const db = new DatabaseSync(where);
  try {
    return Number(
      db.prepare("SELECT count(*) AS n FROM batch_work WHERE lease_owner = ? AND pending > 0")
        .get(owner)!.n,
    );
  } finally {
    db.close();
  }
}

eachBackend(
  "verify processes, one killed holding a claim, two sharing the rest: one verdict per record",
  (b, loc) =>
    withStore(b, loc, async (store) => {
      const day = await loadSimDay(store, {
        seed: "shared-verify",
        cards: 200,
        terminals: 6,
        taps: 1600,
        faults: ["duplicate=0.03", "replay=0.03"],
      });
      const pending = (await store.counts()).pending;
      const keys = verifyKeysOf(day.world);
      const keyFile = await Deno.makeTempFile({ suffix: ".json" });
      await Deno.writeTextFile(
        keyFile,
        JSON.stringify({
          imkAc: keys.imkAc.map((k) => ({ ...k, value: toHex(k.value) })),
          capks: keys.capks,
        }),
      );
      try {
        // verifier-a runs alone and kills itself (SIGKILL) after its first commit, holding the
        // claim it took while that chunk was verified. Alone, so that no other verifier can
        // have claimed everything first, however slowly it starts.
        const a = startVerifier(loc, keyFile, "verifier-a", 100, true);
        assertEquals((await a.child.status).signal, "SIGKILL");
        await a.done;
        const orphaned = await leasedTo(loc, "verifier-a");
        assert(orphaned >= 1, "the killed verifier held a claim");
        // two verifiers share the rest; one of them takes the dead one's batches over
        const others = [
          startVerifier(loc, keyFile, "verifier-b", 100),
          startVerifier(loc, keyFile, "verifier-c", 100),
        ];
        for (const o of others) {
          assertEquals((await o.child.status).code, 0);
          await o.done;
        }
        const committedA = a.lines.filter((l) => l.startsWith("committed"))
          .reduce((s, l) => s + Number(l.split(" ")[1]), 0);
        const finished = others.map((o) =>
          JSON.parse(o.lines.find((l) => l.startsWith("summary "))!.slice(8)).records as number
        );
        assertEquals(
          committedA + finished[0] + finished[1],
          pending,
          "each record verified once",
        );
        assertEquals(await leasedTo(loc, "verifier-a"), 0, "the dead verifier's claim taken over");
        assertEquals((await store.counts()).pending, 0);
        assertEquals(await store.integrityCheck(), "ok");
        await checkVerdicts(loc, day.truth);
        console.log(
          `${b.name}: ${pending} records; killed verifier committed ${committedA} and left ` +
            `${orphaned} leased batches; the other two finished ${finished.join(" + ")}`,
        );
      } finally {
        await Deno.remove(keyFile);
      }
    }),
);

/** Every stored verdict is the ground truth's status, cryptogram and ODA result. */
async function checkVerdicts(
  where: string,
  truth: Map<string, TruthRow>,
): Promise<void> {
  let rows: Record<string, unknown>[];
  if (where.startsWith("postgres")) {
    const s = await openPostgresStore(where);
    try {
      rows = await s.sql`SELECT terminal_id, batch_no, seq, verification FROM records
        WHERE status = 'verified'`;
    } finally {
      await s.closeAsync();
    }
  } else {
    const db = new DatabaseSync(where);
    rows = db.prepare(
      "SELECT terminal_id, batch_no, seq, verification FROM records WHERE status = 'verified'",
    ).all();
    db.close();
  }
  for (const r of rows) {
    const v = JSON.parse(String(r.verification)) as { status: string; detail: StoredVerdictDetail };
    const t = truth.get(`${r.terminal_id}/${r.batch_no}/${r.seq}`)!;
    assertEquals(
      `${v.status}/${v.detail.cryptogram}/${v.detail.oda}`,
      `${t.status}/${t.cryptogram}/${t.oda}`,
      `${r.terminal_id}/${r.batch_no}/${r.seq}`,
    );
  }
  assertEquals(rows.length, [...truth.values()].filter((t) => !t.uploadRejected).length);
}
