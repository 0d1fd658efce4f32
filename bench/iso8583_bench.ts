/**
 * The acquirer link over loopback: 0200/0210 exchanges per second between the link client
 * (`core/iso8583/link.ts`: pack, MAC, frame, match, verify MAC) and the simulated host
 * (`sim/acquirer/`: decode, verify MAC, issuer truth, approval counter, answer, MAC), beside a
 * bare TCP echo that moves frames of exactly the same sizes in the same run — the difference
 * is the cost of ISO 8583 and the simulated issuer, not of the network stack. One request in
 * flight, then 32. Also the codec alone (pack + MAC, unpack + MAC check).
 * The link cycles over 1,000 synthetic taps, so the host approves each tap many times: this
 * bench measures throughput, the tests count approvals.
 * Run: deno bench --allow-all bench/iso8583_bench.ts (figures in docs/iso8583.md).
 */
import { AcquirerLink } from "../core/iso8583/link.ts";
import { envelopeBytes, packagerOf, PROFILES } from "../core/iso8583/profile.ts";
import { buildAuth } from "../core/iso8583/messages.ts";
import { buildAuthAnswer } from "../core/iso8583/answers.ts";
import { signPacked, verifyPacked } from "../core/iso8583/mac.ts";
import { frameOf, sealEnvelope } from "../core/iso8583/frame.ts";
import { AcquirerHost } from "../sim/acquirer/host.ts";
import { seededTruth } from "../sim/acquirer/truth.ts";
import { authInputOf, syntheticTaps } from "../sim/acquirer/taps.ts";
import { fromHex } from "../core/hex.ts";
import { startEcho } from "./echo.ts";

const profile = PROFILES["icfare-sim"];
const TMK = fromHex("3B6E1F0D7A2C4958A1B2C3D4E5F60718");
const MAK = fromHex("0A0B0C0D0E0F0102");
const who = { terminalId: "10000159", merchantId: "880210010210160", batchNo: "000001" };
const taps = syntheticTaps("bench", 1000);
const k = packagerOf(profile);
const env = envelopeBytes(profile);

// The sizes of a real exchange: a signed 0200 frame and the host's 0210 frame.
const req = buildAuth(profile, { ...authInputOf(taps[0], "000001"), ...who });
const reqPacked = signPacked(k.pack(req), profile.mac, MAK);
const ans = buildAuthAnswer(req, {
  responseCode: "00",
  now: new Date(),
  rrn: "000000000001",
  acquirer: "00096500",
  authCode: "000001",
  mac: true,
});
const ansPacked = signPacked(k.pack(ans), profile.mac, MAK);
const REQ_FRAME = frameOf(sealEnvelope(env.tpdu, env.header, reqPacked)).length;
const ANS_FRAME = frameOf(sealEnvelope(env.tpdu, env.header, ansPacked)).length;

// --------------------------------------------------------------- the host and the link

const host = AcquirerHost.start({
  profile,
  tmkOf: () => TMK,
  truth: seededTruth("bench"),
  seed: "bench",
});
const link = new AcquirerLink({
  hostname: "127.0.0.1",
  port: host.port,
  profile,
  terminalId: who.terminalId,
  merchantId: who.merchantId,
  timeoutMs: 5000,
  tmk: { withTmk: (f) => f(TMK) },
});
let stan = 1;
const nextStan = () => String((stan++ % 999_999) + 1).padStart(6, "0");
if (!(await link.signOn(nextStan())).ok) throw new Error("bench: sign-on failed");
let tapIx = 0;
async function exchange(): Promise<void> {
  const r = await link.authorize(authInputOf(taps[tapIx++ % taps.length], nextStan()));
  if (r.outcome === "unknown" || r.outcome === "not-sent") throw new Error(`bench: ${r.outcome}`);
}

// --------------------------------------------------------------- the bare echo

const echo = await startEcho(REQ_FRAME, ANS_FRAME);
const echoRound = (n: number) => echo.round(n);
globalThis.addEventListener("unload", () => echo.close());

// --------------------------------------------------------------- benches

Deno.bench({
  name: `bare TCP echo, ${REQ_FRAME}-byte frame out, ${ANS_FRAME}-byte frame back`,
  group: "one exchange in flight",
  baseline: true,
  n: 3000,
  warmup: 200,
  // Deno.bench awaits only `async` functions: an arrow returning a promise is not awaited.
  fn: async () => {
    await echoRound(1);
  },
});

Deno.bench({
  name: "link 0200 → simulated host → 0210 (MACs both ways)",
  group: "one exchange in flight",
  n: 1000,
  warmup: 100,
  fn: exchange,
});

Deno.bench({
  name: "bare TCP echo, 32 frames in flight (per iteration)",
  group: "32 exchanges in flight",
  baseline: true,
  n: 300,
  warmup: 20,
  fn: async () => {
    await echoRound(32);
  },
});

Deno.bench({
  name: "link, 32 authorisations in flight (per iteration)",
  group: "32 exchanges in flight",
  n: 60,
  warmup: 5,
  fn: async () => {
    await Promise.all(Array.from({ length: 32 }, exchange));
  },
});

Deno.bench({
  name: `codec: pack + ${profile.mac} MAC of a ${reqPacked.length}-byte 0200`,
  group: "codec",
  baseline: true,
  fn: () => {
    signPacked(k.pack(req), profile.mac, MAK);
  },
});

Deno.bench({
  name: `codec: unpack + MAC check of the same 0200`,
  group: "codec",
  fn: () => {
    k.unpack(reqPacked);
    if (!verifyPacked(reqPacked, profile.mac, MAK)) throw new Error("bench: MAC");
  },
});
