/**
 * Bad input (docs/reliability.md F4/F5/S1/S2): at least 10,000 malformed requests against the
 * subprocess server — broken JSON, wrong types, huge numbers, deep nesting, invalid hex, wrong
 * HMAC, stale timestamps, another terminal's credential, garbage headers, text that is not
 * printable (controls, bidi overrides, zero-width characters, lone surrogates), impossible tap
 * times, wrong methods, malformed HTTP framing — each answered with its 4xx, a JSON body and a
 * stable code; nothing is stored as accepted; the server stays up. Seeded (ICFARE_SEED, the seed
 * is printed) and bounded in time: every request within 10 s, the whole run within DEADLINE_S.
 * Batches whose chip data is truncated TLV are a separate family: docs/upload-api.md keeps such
 * records (200, every record rejected with its TLV code), so they must store nothing accepted.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { enc, sampleBatch, send, testKey } from "./support/terminal.ts";
import { makeHome, spawnServer } from "./support/server_process.ts";
import { rawExchange } from "./support/raw_http.ts";
import { signRequest } from "../core/auth/hmac.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const N = SLOW ? 50_000 : 10_000;
/** The whole run must end within this many seconds (a bound on a hang, not a benchmark). */
const DEADLINE_S = SLOW ? 1200 : 300;
const TID = "LC000401";

type Case = {
  family: string;
  body: Uint8Array | null;
  /** Sent as these bytes over a raw TCP connection instead of through fetch. */
  raw?: string;
  method?: string;
  auth?: string | null;
  terminalId?: string;
  key?: CryptoKey;
  timestamp?: number;
  contentType?: string;
  path?: string;
  expect: { status: number; codes: string[] };
};

type Batch = ReturnType<typeof sampleBatch>;

/** The seeded generator state every family draws from. */
class Fuzz {
  seed: number;
  batchNo = 0;
  constructor(readonly seed0: number, readonly otherKey: CryptoKey) {
    this.seed = seed0;
  }
  rand(): number {
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648;
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.rand() * a.length)];
  }
  base(): Batch {
    return sampleBatch({ terminalId: TID, batchNo: ++this.batchNo % 999999 + 1, records: 3 });
  }
}

const J = (o: unknown) => enc.encode(JSON.stringify(o));
const bad400 = { status: 400, codes: ["VALIDATION_FAILED"] };

const WRONG_VALUES = [null, true, "x", "", [], {}, -1, 0.5, 1e308, 2 ** 53 + 2, -(2 ** 60), "1"];
type Rec = Record<string, unknown>;
const FIELDS: ((b: Batch, v: unknown) => void)[] = [
  (b, v) => ((b as Rec).terminalId = v),
  (b, v) => ((b as Rec).merchantId = v),
  (b, v) => ((b as Rec).batchNo = v),
  (b, v) => ((b as Rec).records = v),
  (b, v) => ((b.records[0] as Rec).seq = v),
  (b, v) => ((b.records[1] as Rec).fare = v),
  (b, v) => ((b.records[2] as Rec).icc = v),
  (b, v) => ((b.records[0] as Rec).tappedAt = v),
  (b, v) => ((b as Rec).totals = v),
  (b, v) => ((b.totals as Rec).amount = v),
];

/** Valid text cut short or with a byte replaced (drawn again while it stays valid JSON). */
function brokenJson(f: Fuzz): Case {
  for (;;) {
    const t = JSON.stringify(f.base());
    const cut = Math.floor(f.rand() * (t.length - 1));
    const s = f.rand() < 0.5
      ? t.slice(0, cut)
      : t.slice(0, cut) + f.pick(["}", "]", ",", '"', "\\", "\u0000"]) + t.slice(cut + 2);
    try {
      JSON.parse(s);
      continue; // the mutation happened to stay valid JSON: draw again
    } catch { /* broken, as wanted */ }
    return {
      family: "broken-json",
      body: enc.encode(s),
      expect: { status: 400, codes: ["INVALID_JSON", "VALIDATION_FAILED", "JSON_TOO_DEEP"] },
    };
  }
}

function wrongType(f: Fuzz): Case {
  const b = f.base();
  f.pick(FIELDS)(b, f.pick(WRONG_VALUES));
  return { family: "wrong-type", body: J(b), expect: bad400 };
}

/** Numbers beyond the double range or precision, written as text. */
function hugeNumber(f: Fuzz): Case {
  const n = f.pick(["1e999", "-1e999", "99999999999999999999999", "1.0000000000000002", "0"]);
  const t = JSON.stringify(f.base()).replace(/"batchNo":\d+/, `"batchNo":${n}`);
  return { family: "huge-number", body: enc.encode(t), expect: bad400 };
}

function deepNesting(f: Fuzz): Case {
  const d = 9 + Math.floor(f.rand() * 5000);
  const t = JSON.stringify(f.base()).replace(
    '"line":"K1"',
    `"line":${"[".repeat(d)}${"]".repeat(d)}`,
  );
  return {
    family: "deep-nesting",
    body: enc.encode(t),
    expect: { status: 400, codes: ["JSON_TOO_DEEP", "VALIDATION_FAILED"] },
  };
}

/** Invalid hex in icc or in the ODA evidence. */
function invalidHex(f: Fuzz): Case {
  const b = f.base();
  const r = b.records[Math.floor(f.rand() * 3)] as Rec;
  const icc = String(r.icc);
  const bad = f.pick([
    icc.slice(1),
    icc.slice(0, 10) + "ZZ" + icc.slice(12),
    icc + "G",
    " " + icc,
    "0x" + icc,
    icc.toLowerCase() + "-",
  ]);
  if (f.rand() < 0.7) r.icc = bad;
  else r.oda = { tlv: bad, staticData: "5A08" };
  return { family: "invalid-hex", body: J(b), expect: bad400 };
}

/** Body or signature altered after signing (`auth: "flip"`, done at send time). */
function wrongHmac(f: Fuzz): Case {
  return {
    family: "wrong-hmac",
    body: J(f.base()),
    auth: "flip",
    expect: { status: 401, codes: ["AUTH_BAD_SIGNATURE"] },
  };
}

function staleTimestamp(f: Fuzz): Case {
  const off = (301 + Math.floor(f.rand() * 1e6)) * (f.rand() < 0.5 ? -1 : 1);
  return {
    family: "stale",
    body: J(f.base()),
    timestamp: Math.floor(Date.now() / 1000) + off,
    expect: { status: 401, codes: ["AUTH_STALE_TIMESTAMP"] },
  };
}

/** Another terminal's key under our name, or our body under its name. */
function otherCredential(f: Fuzz): Case {
  if (f.rand() < 0.5) {
    return {
      family: "other-credential",
      body: J(f.base()),
      key: f.otherKey,
      expect: { status: 401, codes: ["AUTH_BAD_SIGNATURE"] },
    };
  }
  return {
    family: "other-credential",
    body: J(f.base()),
    terminalId: "LC000402",
    key: f.otherKey,
    expect: { status: 403, codes: ["AUTH_TERMINAL_MISMATCH"] },
  };
}

function badHeader(f: Fuzz): Case {
  const h = f.pick([
    null,
    "",
    "ICFARE-HMAC-SHA256",
    "Basic dXNlcjpwYXNz",
    `ICFARE-HMAC-SHA256 Credential=${TID}, Timestamp=x, Signature=00`,
    "ICFARE-HMAC-SHA256 Credential=../../etc, Timestamp=1, Signature=" + "0".repeat(64),
    "x".repeat(2000),
  ]);
  return {
    family: "bad-header",
    body: J(f.base()),
    auth: h,
    expect: { status: 401, codes: ["AUTH_MISSING", "AUTH_MALFORMED"] },
  };
}

/** Unknown keys, prototype keys, wrong content type, totals that do not add up. */
function shapeAndTotals(f: Fuzz): Case {
  const k = Math.floor(f.rand() * 4);
  if (k === 0) {
    return {
      family: "extra-key",
      body: enc.encode(JSON.stringify(f.base()).replace("{", '{"__proto__":{"admin":true},')),
      expect: bad400,
    };
  }
  if (k === 1) {
    const b = f.base() as Rec;
    b[f.pick(["extra", "constructor", "Records"])] = 1;
    return { family: "extra-key", body: J(b), expect: bad400 };
  }
  if (k === 2) {
    return {
      family: "content-type",
      body: J(f.base()),
      contentType: f.pick(["text/plain", "application/xml", "multipart/form-data"]),
      expect: { status: 415, codes: ["UNSUPPORTED_MEDIA_TYPE"] },
    };
  }
  const b = f.base();
  b.totals.amount += 1 + Math.floor(f.rand() * 100);
  return { family: "totals", body: J(b), expect: { status: 422, codes: ["TOTALS_MISMATCH"] } };
}

function randomBytes(f: Fuzz): Case {
  const n = Math.floor(f.rand() * 200);
  return {
    family: "random-bytes",
    body: Uint8Array.from({ length: n }, () => Math.floor(f.rand() * 256)),
    expect: { status: 400, codes: ["INVALID_JSON", "JSON_TOO_DEEP", "VALIDATION_FAILED"] },
  };
}

/** Text that is not printable, in a field that must be. */
const BAD_TEXT = [
  "\u0000",
  "\u001b[2J",
  "\u007f",
  "\u0085",
  "\u202e",
  "\u2066",
  "\u200b",
  "\u200d",
  "\ufeff",
  "\u2028",
  "\ue000",
  "\t",
];

/** line, vehicle or stop with a character that is not printable, only spaces, or a lone surrogate. */
function badText(f: Fuzz): Case {
  const b = f.base();
  const field = f.pick(["line", "vehicle", "stop"] as const);
  const r = b.records[Math.floor(f.rand() * 3)];
  const k = Math.floor(f.rand() * 3);
  if (k === 2) {
    // a lone surrogate as a JSON escape: valid UTF-8 on the wire, refused (not replaced)
    const t = JSON.stringify(b).replace(
      `"${field}":"${r[field]}"`,
      `"${field}":"A\\ud${f.pick(["800", "bff", "c00", "fff"])}"`,
    );
    return { family: "text-surrogate", body: enc.encode(t), expect: bad400 };
  }
  r[field] = k === 0 ? `S${f.pick(BAD_TEXT)}1` : f.pick([" ", "   ", "\u3000", "\u00a0 "]);
  return { family: "text-unprintable", body: J(b), expect: bad400 };
}

/** tappedAt with an offset beyond ±14:00, an impossible day or an implausible year. */
function badTime(f: Fuzz): Case {
  const b = f.base();
  b.records[Math.floor(f.rand() * 3)].tappedAt = f.pick([
    `2016-06-24T07:31:02+${14 + Math.floor(f.rand() * 10)}:${f.pick(["01", "30", "59"])}`,
    `2016-06-24T07:31:02-${15 + Math.floor(f.rand() * 9)}:00`,
    "2016-06-24T07:31:02+08:60",
    `${f.pick(["1970", "1999", "2100", "9999"])}-06-24T07:31:02Z`,
    `2026-02-${29 + Math.floor(f.rand() * 3)}T07:31:02+08:00`,
    "2026-04-31T07:31:02+08:00",
    "2026-06-24T24:00:00+08:00",
  ]);
  return { family: "tapped-at", body: J(b), expect: bad400 };
}

/** A known path with a method it does not take: 405 with Allow. */
function wrongMethod(f: Fuzz): Case {
  const [method, path] = f.pick(
    [
      ["GET", "/v1/batches"],
      ["PUT", "/v1/batches"],
      ["DELETE", "/v1/batches"],
      ["PATCH", "/v1/batches/LC000401/1"],
      ["POST", "/v1/batches/LC000401/1"],
      ["POST", "/v1/denylist"],
      ["PUT", "/healthz"],
      ["DELETE", "/metrics"],
      ["OPTIONS", "/openapi.json"],
    ] as const,
  );
  return {
    family: "wrong-method",
    body: null,
    method,
    path,
    auth: null,
    expect: { status: 405, codes: ["METHOD_NOT_ALLOWED"] },
  };
}

/** Malformed HTTP/1.1 framing, sent raw: 400 BAD_REQUEST or 431 HEADERS_TOO_LARGE. */
function badFraming(f: Fuzz): Case {
  const body = JSON.stringify(f.base());
  const raw = f.pick([
    `POST /v1/batches HTTP/1.1\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
    `POST /v1/batches HTTP/1.1\r\nContent-Length: ${body.length}, ${
      body.length + 1
    }\r\n\r\n${body}`,
    `POST /v1/batches HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n`,
    `POST /v1/batches HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n${body}`,
    `POST /v1/batches HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST http://example/v1/batches HTTP/1.1\r\n\r\n`,
    `POST /v1/batches HTTP/1.1\r\nX-A: 1\nX-B: 2\r\n\r\n`,
    `POST /v1/batches HTTP/1.1\r\n Folded: yes\r\n\r\n`,
    `POST /v1/batches HTTP/1.1\r\nBad Name: 1\r\n\r\n`,
    `GET /v1/../../etc/passwd HTTP/1.1 extra\r\n\r\n`,
    `POST /v1/batches HTTP/1.1\r\nX: ${"y".repeat(17_000 + Math.floor(f.rand() * 10_000))}\r\n\r\n`,
  ]);
  const big = raw.length > 16_384 && !raw.includes(body);
  return {
    family: "framing",
    body: null,
    raw,
    expect: big
      ? { status: 431, codes: ["HEADERS_TOO_LARGE"] }
      : { status: 400, codes: ["BAD_REQUEST"] },
  };
}

/** The families, drawn with equal weight. */
const FAMILIES: ((f: Fuzz) => Case)[] = [
  brokenJson,
  wrongType,
  hugeNumber,
  deepNesting,
  invalidHex,
  wrongHmac,
  staleTimestamp,
  otherCredential,
  badHeader,
  shapeAndTotals,
  randomBytes,
  badText,
  badTime,
  wrongMethod,
  badFraming,
];

/** A valid signature, then one hex digit of it or one bit of the body flipped. */
async function flippedAuth(f: Fuzz, body: Uint8Array): Promise<string> {
  const auth = await signRequest({
    key: await testKey(TID),
    terminalId: TID,
    method: "POST",
    path: "/v1/batches",
    body,
  });
  if (f.rand() < 0.5) {
    const i = auth.length - 1 - Math.floor(f.rand() * 64);
    return auth.slice(0, i) + (auth[i] === "0" ? "1" : "0") + auth.slice(i + 1);
  }
  body[Math.floor(f.rand() * body.length)] ^= 1 << Math.floor(f.rand() * 7);
  return auth;
}

/** Sends a case over raw TCP; its answer as a Response. */
async function sendRaw(port: number, raw: string): Promise<Response> {
  const r = await rawExchange(port, raw, 10_000);
  const a = r.answers[0];
  assert(a, `no answer to ${JSON.stringify(raw.slice(0, 80))}`);
  assert(r.closed, "the connection is closed after a framing refusal");
  return new Response(a.body, { status: a.status, headers: [...a.headers] });
}

/** Sends one case and checks its answer; returns the answered code. */
async function runCase(srv: { url: string; port: number }, f: Fuzz, c: Case): Promise<string> {
  const auth = c.auth === "flip" ? await flippedAuth(f, c.body!) : c.auth;
  const r = c.raw !== undefined ? await sendRaw(srv.port, c.raw) : await send(srv.url, c.body, {
    method: c.method,
    path: c.path,
    authorization: auth,
    terminalId: c.terminalId ?? TID,
    key: c.key,
    timestamp: c.timestamp,
    contentType: c.contentType,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  const code = r.status === 200 ? "200" : JSON.parse(text).error.code;
  assertEquals(r.status, c.expect.status, `${c.family}: ${text.slice(0, 300)}`);
  assert(c.expect.codes.includes(code), `${c.family}: got ${code}`);
  if (r.status !== 200) {
    assertEquals(r.headers.get("content-type"), "application/json", c.family);
    const e = JSON.parse(text).error;
    assert(/^[0-9a-f-]{36}$/.test(e.requestId), `${c.family}: a request id`);
    assert(!/[0-9]{12,19}/.test(`${e.message} ${e.path ?? ""}`), "no card number in an error");
    assert(!/\bat .*:\d+:\d+/.test(text), "no stack trace");
  }
  if (r.status === 405) assert(r.headers.get("allow"), `${c.family}: 405 names what is allowed`);
  return code;
}

/** Truncated TLV: kept and rejected per record (200), never accepted. */
async function truncatedBatches(url: string, f: Fuzz, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const b = f.base();
    for (const r of b.records) {
      r.icc = r.icc.slice(0, 2 * (1 + Math.floor(f.rand() * (r.icc.length / 2 - 2))));
    }
    const res = await send(url, J(b), { terminalId: TID });
    const rc = JSON.parse(await res.text());
    assertEquals(res.status, 200);
    assertEquals(rc.accepted, 0);
    assert(
      rc.rejected.every((x: { code: string }) => /^(TLV_|MISSING_TAG)/.test(x.code)),
      JSON.stringify(rc.rejected),
    );
  }
}

/** The server is up, takes a valid batch, and only that batch's records are accepted. */
async function serverStillServes(url: string, home: string): Promise<void> {
  const h = await fetch(`${url}/healthz`);
  assertEquals(h.status, 200, "server still up");
  await h.body?.cancel();
  const ok = await send(url, J(sampleBatch({ terminalId: TID, batchNo: 999999 })), {
    terminalId: TID,
  });
  assertEquals(ok.status, 200);
  await ok.body?.cancel();
  const db = new DatabaseSync(join(home, "icfare.db"));
  const pending = db.prepare("SELECT count(*) n FROM records WHERE status = 'pending'").get()!.n;
  assertEquals(pending, 3, "only the final valid batch's records are accepted");
  db.close();
}

const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const sorted = (m: Map<string, number>) => JSON.stringify(Object.fromEntries([...m].sort()));

Deno.test(`fuzz: ${N} malformed requests, each a coded 4xx JSON answer, nothing accepted, server up`, async () => {
  const home = await makeHome([TID, "LC000402"]);
  const srv = await spawnServer(home, undefined, [
    "--rate",
    "1000000",
    "--burst",
    "1000000",
    "--terminal-inflight",
    "100",
  ]);
  const f = new Fuzz(
    Number(Deno.env.get("ICFARE_SEED") ?? Date.now() % 100000),
    await testKey("LC000402"),
  );
  const byFamily = new Map<string, number>();
  const byCode = new Map<string, number>();
  const t0 = performance.now();
  const deadline = t0 + DEADLINE_S * 1000;
  try {
    let next = 0;
    const worker = async () => {
      while (next < N) {
        assert(performance.now() < deadline, `fuzz ran past ${DEADLINE_S} s (seed ${f.seed0})`);
        next++;
        const c = f.pick(FAMILIES)(f);
        count(byCode, await runCase(srv, f, c));
        count(byFamily, c.family);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const answered = [...byCode.values()].reduce((a, b) => a + b, 0);
    assertEquals(answered, N, "every request answered");
    const truncated = 200;
    await truncatedBatches(srv.url, f, truncated);
    await serverStillServes(srv.url, home);
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `fuzz: seed ${f.seed0}, ${N} malformed requests in ${s} s, 100 % coded 4xx JSON answers; ` +
        `by family ${sorted(byFamily)}; by code ${sorted(byCode)}; ${truncated} truncated-TLV ` +
        `batches kept with 0 accepted; server up`,
    );
  } finally {
    await srv.stop();
  }
});
