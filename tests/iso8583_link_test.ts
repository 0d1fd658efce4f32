/**
 * The acquirer link end to end over loopback: the client (`core/iso8583/link.ts`,
 * `attempt.ts`) against the simulated acquirer/issuer host (`sim/acquirer/`). Every fault
 * type on its own, then all of them at random, then a client killed mid-exchange and
 * restarted from its journal: each exchange ends approved, declined or reversed, every tap's
 * final outcome equals the issuer's truth, and the host's approval counter never shows a tap
 * approved twice.
 */
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { fromHex } from "../core/hex.ts";
import { AcquirerLink, type AuthInput } from "../core/iso8583/link.ts";
import { PROFILES } from "../core/iso8583/profile.ts";
import {
  type AttemptJournal,
  type AttemptOutcome,
  resumeReversal,
  runAttempt,
} from "../core/iso8583/attempt.ts";
import type { ReversalReason } from "../core/iso8583/messages.ts";
import { Iso8583Error } from "../core/iso8583/errors.ts";
import { AcquirerHost, type HostOptions } from "../sim/acquirer/host.ts";
import { seededTruth } from "../sim/acquirer/truth.ts";
import { FAULT_KINDS, type FaultKind, type FaultRates } from "../sim/acquirer/faults.ts";
import { tapKey } from "../sim/acquirer/ledger.ts";
import { authInputOf, type SimTap, syntheticTaps } from "../sim/acquirer/taps.ts";
import { Rng } from "../sim/prng.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const TMK = fromHex("3B6E1F0D7A2C4958A1B2C3D4E5F60718");
const profile = PROFILES["icfare-sim"];
const truth = seededTruth("link-truth");
const TERMINAL = { terminalId: "10000159", merchantId: "880210010210160" };

function start(extra: Partial<HostOptions> = {}): AcquirerHost {
  return AcquirerHost.start({ profile, tmkOf: () => TMK, truth, seed: "link-faults", ...extra });
}

function connect(host: AcquirerHost, timeoutMs: number, tmk = TMK): AcquirerLink {
  return new AcquirerLink({
    hostname: "127.0.0.1",
    port: host.port,
    profile,
    ...TERMINAL,
    timeoutMs,
    tmk: { withTmk: (f) => f(tmk) },
  });
}

/** STANs 000001.. as a real terminal counter. */
function stans(from = 1) {
  let n = from;
  return () => String(n++ % 1_000_000).padStart(6, "0");
}

/** The durable journal a caller keeps: the state of each debt by tap. */
class Journal {
  readonly state = new Map<
    string,
    { stan: string; state: "sent" | "reversing"; reason?: ReversalReason }
  >();
  forTap(tap: string): AttemptJournal {
    return {
      sending: (stan) => Promise.resolve(void this.state.set(tap, { stan, state: "sent" })),
      reversing: (stan, reason) =>
        Promise.resolve(void this.state.set(tap, { stan, state: "reversing", reason })),
    };
  }
}

const truthOf = (t: SimTap) =>
  truth({
    pan: t.pan,
    psn: "001",
    atc: t.atc,
    amountFen: t.amountFen,
    expiry: t.expiry,
    txnDate: t.txnTime.slice(2, 8),
    terminalId: TERMINAL.terminalId,
    stan: "000000",
  });
const keyOf = (t: SimTap) => tapKey(t.pan, "001", t.atc);
const approvedTap = syntheticTaps("link-one", 50).find((t) => truthOf(t) === "00")!;

async function settle(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------ one fault at a time

const EXPECT: Record<
  FaultKind,
  { first: string; reason?: string; code?: string; approvals: number }
> = {
  "timeout": { first: "reversed", reason: "timeout", code: "00", approvals: 1 },
  "drop-before": { first: "reversed", reason: "disconnected", code: "25", approvals: 0 },
  "drop-after": { first: "reversed", reason: "disconnected", code: "00", approvals: 1 },
  "late": { first: "reversed", reason: "timeout", code: "00", approvals: 1 },
  "duplicate": { first: "approved", approvals: 1 },
  "bad-mac": { first: "reversed", reason: "bad-mac", code: "00", approvals: 1 },
  "reject-mac": { first: "refused", code: "A0", approvals: 0 },
};

for (const fault of FAULT_KINDS) {
  Deno.test(`fault ${fault} on the 0200: a known outcome, then one approval at most`, async () => {
    const host = start({ schedule: (n) => (n === 1 ? fault : undefined), lateMs: 700 });
    const link = connect(host, 500);
    const next = stans();
    const journal = new Journal();
    const signOn = async () => (await link.signOn(next())).ok;
    try {
      assert(await signOn());
      const j = journal.forTap("t");
      const first = await runAttempt(link, authInputOf(approvedTap, next()), j, { signOn });
      const e = EXPECT[fault];
      assertEquals(first.final, e.first, `${fault}: ${JSON.stringify(first)}`);
      if (first.final === "reversed") {
        assertEquals([first.reason, first.responseCode], [e.reason, e.code]);
        assertEquals(journal.state.get("t")?.state, "reversing");
        assertEquals(journal.state.get("t")?.reason, fault === "bad-mac" ? "A0" : "98");
      }
      if (first.final === "refused") assertEquals(first.answer.responseCode, "A0");
      const k = keyOf(approvedTap);
      assertEquals(
        host.ledger.count(k).approvals,
        e.approvals,
        "approvals after the first attempt",
      );
      assertEquals(host.ledger.count(k).live, first.final === "approved" ? 1 : 0);
      if (first.final !== "approved") {
        // The debt is free again: a new STAN, and this time it goes through.
        const second = await runAttempt(link, authInputOf(approvedTap, next()), j, { signOn });
        assertEquals(second.final, "approved");
      }
      if (fault === "late" || fault === "duplicate") {
        await settle(fault === "late" ? 900 : 100);
        assertEquals(link.stats.unmatched, 1, "the extra answer is dropped, unmatched");
      }
      if (fault === "bad-mac") assertEquals(link.stats.badMac, 1);
      if (fault === "reject-mac") assertEquals(host.issuer.stats.signOns, 2, "signed on again");
      assertEquals(host.stats.faults[fault], 1);
      const c = host.ledger.count(k);
      assertEquals([c.live, c.maxLive], [1, 1], "charged once, never twice at a time");
    } finally {
      await link.close();
      await host.stop();
    }
  });
}

// ------------------------------------------------------------------ the collect loop

interface Tally {
  outcomes: Record<string, number>;
  final: Map<string, { final: string; code?: string }>;
}

/** A thin collect loop: attempts with fresh STANs until the debt is approved or declined. */
async function collect(
  link: AcquirerLink,
  taps: SimTap[],
  next: () => string,
  journal: Journal,
): Promise<Tally> {
  const t: Tally = { outcomes: {}, final: new Map() };
  const signOn = async () => (await link.signOn(next())).ok;
  for (const tap of taps) {
    const key = keyOf(tap);
    for (let attempt = 0; attempt < 40; attempt++) {
      let r: AttemptOutcome = await runAttempt(
        link,
        authInputOf(tap, next()),
        journal.forTap(key),
        {
          signOn,
          reversalTries: 5,
        },
      );
      while (r.final === "reversal-pending") {
        t.outcomes["reversal-pending"] = (t.outcomes["reversal-pending"] ?? 0) + 1;
        const s = journal.state.get(key)!;
        r = await resumeReversal(
          link,
          authInputOf(tap, s.stan),
          s.reason ?? "98",
          journal.forTap(key),
          { signOn },
        );
      }
      t.outcomes[r.final] = (t.outcomes[r.final] ?? 0) + 1;
      journal.state.delete(key);
      if (r.final === "approved" || r.final === "declined") {
        t.final.set(key, { final: r.final, code: r.answer.responseCode });
        break;
      }
    }
  }
  return t;
}

function checkAgainstTruth(host: AcquirerHost, taps: SimTap[], final: Tally["final"]): void {
  for (const tap of taps) {
    const key = keyOf(tap);
    const want = truthOf(tap);
    const got = final.get(key);
    assert(got, "every debt reaches a final outcome");
    assertEquals(got.code, want, "the final answer is the issuer's truth");
    assertEquals(got.final, want === "00" ? "approved" : "declined");
    const c = host.ledger.count(key);
    assertEquals(c.live, want === "00" ? 1 : 0, "standing approvals equal the truth");
    assert(c.maxLive <= 1, "never two approvals standing at once");
  }
  assertEquals(host.ledger.doubleApproved(), []);
}

Deno.test("every fault at random: each debt ends as the truth says, no tap charged twice", async () => {
  const rates: FaultRates = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0.05]));
  const host = start({ faults: rates, lateMs: 200 });
  const link = connect(host, 100);
  const taps = syntheticTaps("link-soak", SLOW ? 1500 : 200);
  try {
    const t = await collect(link, taps, stans(), new Journal());
    checkAgainstTruth(host, taps, t.final);
    for (const k of FAULT_KINDS) assert(host.stats.faults[k] > 0, `fault ${k} was injected`);
    const s = host.ledger.summary();
    console.log(
      `link soak: ${taps.length} taps, attempts ${JSON.stringify(t.outcomes)}, faults ${
        JSON.stringify(host.stats.faults)
      }, ` +
        `issuer approvals ${s.approvals} reversals ${s.reversals} standing ${s.live}, double ${s.doubleApproved}`,
    );
    assert((t.outcomes.reversed ?? 0) > 0 && (t.outcomes.refused ?? 0) > 0);
  } finally {
    await link.close();
    await host.stop();
  }
});

Deno.test("the client killed mid-exchange and restarted from its journal: still charged once", async () => {
  const rates: FaultRates = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0.03]));
  const host = start({ faults: rates, lateMs: 200 });
  const taps = syntheticTaps("link-kill", SLOW ? 600 : 120);
  const journal = new Journal();
  const next = stans();
  const rng = new Rng("link-kill", "kills");
  const final = new Map<string, { final: string; code?: string }>();
  let kills = 0, resumed = 0;
  try {
    while (final.size < taps.length) {
      const link = connect(host, 100);
      const signOn = async () => (await link.signOn(next())).ok;
      try {
        // Restart: finish every debt left "sent" or "reversing" before anything new.
        for (const [key, s] of [...journal.state]) {
          const tap = taps.find((t) => keyOf(t) === key)!;
          const r = await resumeReversal(
            link,
            authInputOf(tap, s.stan),
            s.reason ?? "98",
            journal.forTap(key),
            {
              signOn,
            },
          );
          if (r.final === "reversed") (journal.state.delete(key), resumed++);
        }
        for (const tap of taps) {
          const key = keyOf(tap);
          if (final.has(key) || journal.state.has(key)) continue;
          // The kill: close the link right after the state is durable, or a moment later.
          const j = journal.forTap(key);
          const killing: AttemptJournal = rng.chance(0.05)
            ? {
              sending: async (stan) => {
                await j.sending(stan);
                kills++;
                setTimeout(() => link.close(), rng.int(3));
              },
              reversing: j.reversing,
            }
            : j;
          const r = await runAttempt(link, authInputOf(tap, next()), killing, {
            signOn,
            reversalTries: 5,
          });
          if (r.final === "approved" || r.final === "declined") {
            journal.state.delete(key);
            final.set(key, { final: r.final, code: r.answer.responseCode });
          } else if (r.final !== "reversal-pending") journal.state.delete(key);
        }
      } catch (e) {
        // A killed client: the link is gone in the middle of an exchange.
        if (!(e instanceof Iso8583Error) || e.code !== "ISO8583_LINK") throw e;
      } finally {
        await link.close();
      }
    }
    checkAgainstTruth(host, taps, final);
    console.log(
      `link kill/restart: ${taps.length} taps, ${kills} kills, ${resumed} debts resumed by reversal`,
    );
    assert(kills > 0 && resumed > 0);
  } finally {
    await host.stop();
  }
});

// ------------------------------------------------------------------ the rest of the link

Deno.test("sign-on: keys checked against their check values; unknown terminal and wrong TMK", async () => {
  const host = start({ tmkOf: (id) => (id === TERMINAL.terminalId ? TMK : undefined) });
  const next = stans();
  const wrong = connect(host, 1000, fromHex("00112233445566778899AABBCCDDEEFF"));
  const stranger = new AcquirerLink({
    hostname: "127.0.0.1",
    port: host.port,
    profile,
    terminalId: "99999999",
    merchantId: TERMINAL.merchantId,
    timeoutMs: 1000,
    tmk: { withTmk: (f) => f(TMK) },
  });
  const link = connect(host, 1000);
  try {
    const e = await assertRejects(
      () => wrong.signOn(next()),
      Iso8583Error,
      "field 62: PIK does not match",
    );
    assertEquals((e as Iso8583Error).code, "ISO8583_KCV");
    assertEquals(wrong.signedOn, false);
    assertEquals(await stranger.signOn(next()), { ok: false, responseCode: "97" });
    const r = await link.authorize(authInputOf(approvedTap, next()));
    assertEquals(r, { outcome: "not-sent", stan: "000003", reason: "not-signed-on" });
    assertEquals(await link.signOn(next(), "Sequence No163150SXX-4C304119"), {
      ok: true,
      batchNo: "000002",
    });
    assertEquals(
      await link.signOn(next()),
      { ok: true, batchNo: "000003" },
      "a new batch each sign-on (the refused sign-on had batch 1)",
    );
    assertEquals(link.batchNo, "000003");
  } finally {
    await Promise.all([wrong.close(), stranger.close(), link.close()]);
    await host.stop();
  }
});

Deno.test("beforeSend: awaited before the bytes leave; when it throws nothing is sent", async () => {
  const host = start();
  const link = connect(host, 1000);
  const next = stans();
  try {
    assert((await link.signOn(next())).ok);
    const frames = host.stats.frames;
    const req: AuthInput = authInputOf(approvedTap, next());
    await assertRejects(
      () => link.authorize(req, () => Promise.reject(new Error("disk full"))),
      Error,
      "disk full",
    );
    assertEquals(host.stats.frames, frames, "nothing reached the host");
    let persisted = -1;
    const r = await link.authorize(req, () => {
      persisted = host.stats.frames;
      return Promise.resolve();
    });
    assertEquals(persisted, frames, "the hook ran before the request arrived");
    assertEquals(r.outcome, "approved");
    assertEquals(host.stats.frames, frames + 1);
  } finally {
    await link.close();
    await host.stop();
  }
});

Deno.test("a STAN already in flight is refused; an unreachable host sends nothing", async () => {
  const host = start({ schedule: (n) => (n === 1 ? "timeout" : undefined) });
  const link = connect(host, 300);
  const next = stans();
  try {
    assert((await link.signOn(next())).ok);
    const req = authInputOf(approvedTap, next());
    const first = link.authorize(req);
    await settle(20);
    const e = await assertRejects(() => link.authorize(req), Iso8583Error, "in flight");
    assertEquals((e as Iso8583Error).code, "ISO8583_LINK");
    assertEquals((await first).outcome, "unknown");
  } finally {
    await link.close();
    await host.stop();
  }
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const gone = new AcquirerLink({
    hostname: "127.0.0.1",
    port,
    profile,
    ...TERMINAL,
    timeoutMs: 300,
    tmk: { withTmk: (f) => f(TMK) },
  });
  try {
    assertEquals(await gone.signOn("000001"), { ok: false, reason: "unreachable" });
  } finally {
    await gone.close();
  }
});

Deno.test("deny-list download: 70 entries in three pages, cursor carried, PANs in memory", async () => {
  const taps = syntheticTaps("deny", 70);
  const list = taps.map((t, i) => ({
    action: i % 7 ? "add" as const : "remove" as const,
    pan: t.pan,
    psn: "001",
  }));
  const host = start({ denyList: () => list });
  const link = connect(host, 1000);
  try {
    const r = await link.downloadDenyList(stans(100));
    assertEquals([r.pages, r.cursor, r.entries.length], [3, "0000000070", 70]);
    assertEquals(r.entries, list);
    const again = await link.downloadDenyList(stans(200), r.cursor);
    assertEquals([again.pages, again.entries.length], [1, 0], "nothing new after the cursor");
  } finally {
    await link.close();
    await host.stop();
  }
});

Deno.test("the host survives garbage: malformed frames are counted, the next request is served", async () => {
  const host = start();
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: host.port });
    await c.write(Uint8Array.of(0, 5, 0x60, 1, 2, 3, 4)); // TPDU only
    await c.write(Uint8Array.of(0, 20, ...new Uint8Array(20).fill(0x60))); // not a message
    await settle(50);
    c.close();
    const link = connect(host, 1000);
    try {
      assert((await link.signOn("000001")).ok);
      assertEquals(host.stats.malformed, 2);
    } finally {
      await link.close();
    }
  } finally {
    await host.stop();
  }
});

Deno.test("TLS: sign-on and an approval over a TLS link (self-signed test certificate)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-iso-tls-" });
  try {
    const o = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(o.success, new TextDecoder().decode(o.stderr));
    const cert = await Deno.readTextFile(`${dir}/cert.pem`);
    const host = start({ tls: { cert, key: await Deno.readTextFile(`${dir}/key.pem`) } });
    const link = new AcquirerLink({
      hostname: "localhost",
      port: host.port,
      profile,
      ...TERMINAL,
      timeoutMs: 2000,
      tls: { caCerts: [cert] },
      tmk: { withTmk: (f) => f(TMK) },
    });
    const next = stans();
    try {
      assert((await link.signOn(next())).ok);
      assertEquals((await link.authorize(authInputOf(approvedTap, next()))).outcome, "approved");
      assertEquals(host.ledger.count(keyOf(approvedTap)).live, 1);
    } finally {
      await link.close();
      await host.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sign-on while a 0200 is in flight: its answer is checked under the keys it was sent with", async () => {
  // the host answers the first 0200 after 200 ms, MAC'd under the MAK it checked it with
  const host = start({
    truth: () => "00",
    schedule: (n) => (n === 1 ? "late" : undefined),
    lateMs: 200,
  });
  const link = connect(host, 2000);
  const next = stans();
  try {
    assert((await link.signOn(next())).ok);
    const tap = syntheticTaps("keys-in-flight", 1, "2026-06-24", 0)[0];
    const pending = link.authorize(authInputOf(tap, next()));
    await new Promise((r) => setTimeout(r, 50));
    assert((await link.signOn(next())).ok, "new working keys while the 0200 waits");
    const r = await pending;
    assertEquals([r.outcome, link.stats.badMac], ["approved", 0]);
    const after = await link.authorize(authInputOf(tap, next()));
    assertEquals(after.outcome, "approved", "the new keys are in use");
  } finally {
    await link.close();
    await host.stop();
  }
});
