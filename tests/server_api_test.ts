/**
 * Every error code of the upload API (docs/upload-api.md) reached against a real server spawned as a
 * subprocess with its narrow permissions; every error body is {error:{code,message,requestId}}
 * without stack traces or card numbers.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { enc, sampleBatch, sampleIcc, send, testKey } from "./support/terminal.ts";
import { expectError, seenCodes as seen } from "./support/api_errors.ts";
import { makeHome, spawnServer } from "./support/server_process.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { signRequest } from "../core/auth/hmac.ts";
import { ERRORS } from "../core/upload/errors.ts";
import { FRONT_CODES } from "./support/api_errors.ts";
import { createApp } from "../server/app.ts";
import { StaticTerminalKeys } from "../core/auth/terminal_keys.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { testKeyHex } from "./support/terminal.ts";

const json = (o: unknown) => enc.encode(JSON.stringify(o));

/** 200 receipt, replay, GET receipt. */
async function receiptAndReplay(url: string): Promise<void> {
  const body = json(sampleBatch({ batchNo: 1, records: 4 }));
  const r1 = await send(url, body);
  const t1 = await r1.text();
  assertEquals(r1.status, 200, t1);
  const rc = JSON.parse(t1);
  assertEquals(rc.received, 4);
  assertEquals(rc.accepted, 4);
  assertEquals(rc.replayed, false);
  const r2 = await send(url, body);
  const t2 = await r2.text();
  assertEquals(t2, t1.replace('"replayed":false}', '"replayed":true}'));
  const g = await send(url, null, { path: "/v1/batches/LC000123/1" });
  assertEquals(await g.text(), t2);
}

/** 400 INVALID_JSON, JSON_TOO_DEEP, VALIDATION_FAILED with path. */
async function badBodies(url: string): Promise<void> {
  await expectError(await send(url, enc.encode('{"terminalId":')), 400, "INVALID_JSON");
  await expectError(await send(url, enc.encode("\xff\xfe")), 400, "INVALID_JSON");
  await expectError(await send(url, enc.encode("[".repeat(5000))), 400, "JSON_TOO_DEEP");
  const b = sampleBatch({ batchNo: 2 }) as Record<string, unknown>;
  (b.records as Record<string, unknown>[])[1].icc = "9F2G";
  await expectError(await send(url, json(b)), 400, "VALIDATION_FAILED", "records[1].icc");
  const c = sampleBatch({ batchNo: 2 }) as Record<string, unknown>;
  c.batchNo = 1e300;
  await expectError(await send(url, json(c)), 400, "VALIDATION_FAILED", "batchNo");
  const d = sampleBatch({ batchNo: 2 });
  d.records[2].seq = 1;
  await expectError(await send(url, json(d)), 400, "VALIDATION_FAILED", "records[2].seq");
  const e = enc.encode(
    JSON.stringify(sampleBatch({ batchNo: 2 })).replace("{", '{"__proto__":{"x":1},'),
  );
  await expectError(await send(url, e), 400, "VALIDATION_FAILED");
}

/** 401 AUTH_*. */
async function authErrors(url: string): Promise<void> {
  const body = json(sampleBatch({ batchNo: 3 }));
  await expectError(await send(url, body, { authorization: null }), 401, "AUTH_MISSING");
  await expectError(
    await send(url, body, { authorization: "Bearer abc" }),
    401,
    "AUTH_MALFORMED",
  );
  const now = Math.floor(Date.now() / 1000);
  await expectError(
    await send(url, body, { timestamp: now - 301 }),
    401,
    "AUTH_STALE_TIMESTAMP",
  );
  await expectError(
    await send(url, body, { timestamp: now + 400 }),
    401,
    "AUTH_STALE_TIMESTAMP",
  );
  const k = await testKey("LC000999");
  await expectError(
    await send(url, json(sampleBatch({ terminalId: "LC000999" })), {
      terminalId: "LC000999",
      key: k,
    }),
    401,
    "AUTH_UNKNOWN_TERMINAL",
  );
  // signed with another terminal's key under this credential
  await expectError(
    await send(url, body, { key: await testKey("LC000124") }),
    401,
    "AUTH_BAD_SIGNATURE",
  );
  // body changed after signing
  const auth = await signRequest({
    key: await testKey("LC000123"),
    terminalId: "LC000123",
    method: "POST",
    path: "/v1/batches",
    body,
  });
  const tampered = body.slice();
  tampered[tampered.length - 2] ^= 1;
  await expectError(
    await send(url, tampered, { authorization: auth }),
    401,
    "AUTH_BAD_SIGNATURE",
  );
}

/** 403 AUTH_TERMINAL_MISMATCH: body for another terminal, reading another's batch. */
async function terminalMismatch(url: string): Promise<void> {
  await expectError(
    await send(url, json(sampleBatch({ terminalId: "LC000124" })), {
      terminalId: "LC000123",
    }),
    403,
    "AUTH_TERMINAL_MISMATCH",
    "terminalId",
  );
  await expectError(
    await send(url, null, { path: "/v1/batches/LC000123/1", terminalId: "LC000124" }),
    403,
    "AUTH_TERMINAL_MISMATCH",
  );
}

/** 404 NOT_FOUND, BATCH_NOT_FOUND; 400 BAD_QUERY. */
async function notFoundAndBadQuery(url: string): Promise<void> {
  await expectError(await fetch(`${url}/v2/batches`), 404, "NOT_FOUND");
  await expectError(
    await send(url, null, { path: "/v1/batches/LC000123/77" }),
    404,
    "BATCH_NOT_FOUND",
  );
  await expectError(
    await send(url, null, { path: "/v1/batches/LC000123/abc" }),
    400,
    "BAD_QUERY",
    "batchNo",
  );
  await expectError(
    await send(url, null, { path: "/v1/denylist?since=-1" }),
    400,
    "BAD_QUERY",
    "since",
  );
}

/** 409 BATCH_CONFLICT: same key, different body. */
async function batchConflict(url: string): Promise<void> {
  const other = sampleBatch({ batchNo: 1, records: 4, fare: 100 });
  await expectError(await send(url, json(other)), 409, "BATCH_CONFLICT", "batchNo");
}

/** 413 BODY_TOO_LARGE: declared and streamed without a length. */
async function bodyTooLarge(url: string): Promise<void> {
  const big = new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20);
  await expectError(await send(url, big), 413, "BODY_TOO_LARGE");
  // chunked: no Content-Length, the cap is enforced while reading the stream
  const key = await testKey("LC000123");
  const auth = await signRequest({
    key,
    terminalId: "LC000123",
    method: "POST",
    path: "/v1/batches",
    body: big,
  });
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (sent >= big.length) return ctl.close();
      const n = Math.min(1 << 20, big.length - sent);
      ctl.enqueue(big.subarray(sent, sent + n));
      sent += n;
    },
  });
  const r = await fetch(`${url}/v1/batches`, {
    method: "POST",
    body: stream,
    headers: { authorization: auth, "content-type": "application/json" },
  });
  await expectError(r, 413, "BODY_TOO_LARGE");
}

/** 415 UNSUPPORTED_MEDIA_TYPE. */
async function unsupportedMediaType(url: string): Promise<void> {
  await expectError(
    await send(url, json(sampleBatch({ batchNo: 4 })), { contentType: "text/plain" }),
    415,
    "UNSUPPORTED_MEDIA_TYPE",
  );
}

/** 422 TOTALS_MISMATCH, nothing stored. */
async function totalsMismatch(url: string): Promise<void> {
  const b = sampleBatch({ batchNo: 5, records: 3 });
  b.totals.amount += 1;
  await expectError(await send(url, json(b)), 422, "TOTALS_MISMATCH", "totals.amount");
  b.totals.amount -= 1;
  b.totals.count = 2;
  await expectError(await send(url, json(b)), 422, "TOTALS_MISMATCH", "totals.count");
  await expectError(
    await send(url, null, { path: "/v1/batches/LC000123/5" }),
    404,
    "BATCH_NOT_FOUND",
  );
}

/** records rejected for structure are kept and named in the receipt. */
async function structuralRejects(url: string, home: string): Promise<void> {
  const b = sampleBatch({ batchNo: 6, records: 5 });
  b.records[1].icc = b.records[1].icc.slice(0, -2); // truncated
  b.records[2].icc = sampleIcc({ fare: 300 }); // fare 200 but 9F02 300
  b.records[3].icc = b.records[3].icc.replace(/^9F2608[0-9A-F]{16}/, ""); // no 9F26
  b.records[4].icc = sampleIcc({ track2: true, atc: 9 });
  const r = await send(url, json(b));
  const rc = JSON.parse(await r.text());
  assertEquals(r.status, 200);
  assertEquals(rc.accepted, 2);
  assertEquals(
    rc.rejected.map((
      x: { seq: number; code: string; path: string },
    ) => [x.seq, x.code, x.path]),
    [
      [2, "TLV_VALUE_OVERRUN", "records[1].icc"],
      [3, "FARE_MISMATCH", "records[2].fare"],
      [4, "MISSING_TAG", "records[3].icc"],
    ],
  );
  const db = new DatabaseSync(join(home, "icfare.db"));
  const rows = db.prepare(
    "SELECT seq, status, reject_code FROM records WHERE batch_no = 6 ORDER BY seq",
  ).all();
  assertEquals(rows.map((x) => [x.seq, x.status, x.reject_code]), [
    [1, "pending", null],
    [2, "rejected", "TLV_VALUE_OVERRUN"],
    [3, "rejected", "FARE_MISMATCH"],
    [4, "rejected", "MISSING_TAG"],
    [5, "pending", null],
  ]);
  db.close();
}

/** no clear PAN or track 2 anywhere in the database files. */
async function noClearCardData(home: string): Promise<void> {
  const pan = "6234567890123456";
  for (const f of ["icfare.db", "icfare.db-wal"]) {
    const bytes = await Deno.readFile(join(home, f)).catch(() => new Uint8Array());
    const text = new TextDecoder("latin1").decode(bytes);
    assert(!text.includes(pan), `${f} holds a clear PAN`);
    assert(!text.includes("D30122010000000000"), `${f} holds track 2`);
    assert(!text.includes("6234567890000000"), `${f} holds a clear PAN`);
  }
}

/**
 * deny list without a signing key (a dev-key home has none): 503, never an unsigned list; the
 * signed list and its key are tested in denylist_server_test.ts.
 */
async function denyListUnsigned(url: string, home: string): Promise<void> {
  const store = openSqliteStore(join(home, "icfare.db"));
  store.denyList.add({ cardHash: "01".repeat(32), psn: "00" }, "ODA_FAILED", "test");
  store.close();
  for (const path of ["/v1/denylist?since=0", "/v1/denylist/key"]) {
    await expectError(await send(url, null, { path }), 503, "DENYLIST_UNAVAILABLE");
  }
}

/** healthz, metrics, openapi. */
async function opsRoutes(url: string): Promise<void> {
  const h = await fetch(`${url}/healthz`);
  assertEquals([h.status, await h.text()], [200, '{"status":"ok"}']);
  const m = await (await fetch(`${url}/metrics`)).text();
  assertMatch(m, /icfare_http_requests_total\{route="\/v1\/batches",code="200"\} \d+/);
  assertMatch(m, /icfare_http_requests_total\{route="\/v1\/batches",code="409"\} 1/);
  assertMatch(
    m,
    /icfare_http_request_duration_seconds_bucket\{route="\/v1\/batches",le="\+Inf"\} \d+/,
  );
  assertMatch(m, /icfare_records_ingested_total\{outcome="accepted"\} 6/);
  assertMatch(m, /icfare_records_ingested_total\{outcome="rejected"\} 3/);
  assertMatch(m, /icfare_batches_rejected_total\{reason="TOTALS_MISMATCH"\} 2/);
  const o = await (await fetch(`${url}/openapi.json`)).json();
  assertEquals(o.openapi, "3.1.0");
  assert(o.paths["/v1/batches"].post.responses["409"]);
  assertEquals(o.components.schemas.UploadBatch.properties.batchNo.maximum, 999999);
}

/** 429 RATE_LIMITED with Retry-After, other terminals unaffected. */
async function rateLimited(url: string): Promise<void> {
  // 10 at once against rate 1/s, burst 3: 3 pass, plus at most one per second elapsed
  const t0 = performance.now();
  const rs = await Promise.all(
    Array.from({ length: 10 }, () => send(url, null, { path: "/v1/batches/LC000123/1" })),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  let ok = 0, limited = 0;
  for (const r of rs) {
    if (r.status === 429) {
      limited++;
      assert(Number(r.headers.get("retry-after")) >= 1);
      await expectError(r, 429, "RATE_LIMITED");
    } else {
      assertEquals(r.status, 200);
      ok++;
      await r.body?.cancel();
    }
  }
  assert(ok >= 3 && ok <= 3 + Math.ceil(elapsedS), `${ok} passed in ${elapsedS} s`);
  assertEquals(ok + limited, 10);
  const other = await send(url, null, {
    path: "/v1/batches/LC000124/1",
    terminalId: "LC000124",
  });
  await expectError(other, 404, "BATCH_NOT_FOUND");
}

/** 408 REQUEST_TIMEOUT: a body that stops arriving (slowloris). */
async function slowBody(url: string): Promise<void> {
  const body = json(sampleBatch({ terminalId: "LC000125", batchNo: 8 }));
  const authorization = await signRequest({
    key: await testKey("LC000125"),
    terminalId: "LC000125",
    method: "POST",
    path: "/v1/batches",
    body,
  });
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const slow = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
      c.enqueue(body.subarray(0, 10));
    },
  });
  const r = await fetch(`${url}/v1/batches`, {
    method: "POST",
    body: slow,
    headers: { authorization, "content-type": "application/json" },
  });
  await expectError(r, 408, "REQUEST_TIMEOUT");
  try {
    ctl.close();
  } catch { /* the stream was cancelled with the connection */ }
}

/** 503 STORAGE_UNAVAILABLE while the database is locked; nothing acknowledged. */
async function storageUnavailable(url: string, home: string): Promise<void> {
  const db = new DatabaseSync(join(home, "icfare.db"));
  db.exec("BEGIN IMMEDIATE");
  const body = json(sampleBatch({ terminalId: "LC000125", batchNo: 9 }));
  const r = await send(url, body, { terminalId: "LC000125" });
  assertEquals(r.headers.get("retry-after"), "1");
  await expectError(r, 503, "STORAGE_UNAVAILABLE");
  db.exec("ROLLBACK");
  db.close();
  const again = await send(url, body, { terminalId: "LC000125" });
  assertEquals(again.status, 200);
  assertEquals(JSON.parse(await again.text()).replayed, false);
}

Deno.test("server API: every error code against a subprocess server", async (t) => {
  const home = await makeHome(["LC000123", "LC000124", "LC000125"]);
  const srv = await spawnServer(home, undefined, ["--rate", "1000", "--burst", "1000"]);
  const url = srv.url;
  try {
    await t.step("200 receipt, replay, GET receipt", () => receiptAndReplay(url));
    await t.step(
      "400 INVALID_JSON, JSON_TOO_DEEP, VALIDATION_FAILED with path",
      () => badBodies(url),
    );
    await t.step("401 AUTH_*", () => authErrors(url));
    await t.step(
      "403 AUTH_TERMINAL_MISMATCH: body for another terminal, reading another's batch",
      () => terminalMismatch(url),
    );
    await t.step(
      "404 NOT_FOUND, BATCH_NOT_FOUND; 400 BAD_QUERY",
      () => notFoundAndBadQuery(url),
    );
    await t.step("409 BATCH_CONFLICT: same key, different body", () => batchConflict(url));
    await t.step(
      "413 BODY_TOO_LARGE: declared and streamed without a length",
      () => bodyTooLarge(url),
    );
    await t.step("415 UNSUPPORTED_MEDIA_TYPE", () => unsupportedMediaType(url));
    await t.step("422 TOTALS_MISMATCH, nothing stored", () => totalsMismatch(url));
    await t.step(
      "records rejected for structure are kept and named in the receipt",
      () => structuralRejects(url, home),
    );
    await t.step(
      "no clear PAN or track 2 anywhere in the database files",
      () => noClearCardData(home),
    );
    await t.step(
      "deny list: 503 DENYLIST_UNAVAILABLE without a signing key, never unsigned",
      () => denyListUnsigned(url, home),
    );
    await t.step("healthz, metrics, openapi", () => opsRoutes(url));
  } finally {
    await srv.stop();
  }

  const srv2 = await spawnServer(home, undefined, [
    "--body-timeout-ms",
    "300",
    "--rate",
    "1",
    "--burst",
    "3",
    "--busy-timeout-ms",
    "100",
  ]);
  try {
    await t.step(
      "429 RATE_LIMITED with Retry-After, other terminals unaffected",
      () => rateLimited(srv2.url),
    );
    await t.step(
      "408 REQUEST_TIMEOUT: a body that stops arriving (slowloris)",
      () => slowBody(srv2.url),
    );
    await t.step(
      "503 STORAGE_UNAVAILABLE while the database is locked; nothing acknowledged",
      () => storageUnavailable(srv2.url, home),
    );
  } finally {
    await srv2.stop();
  }
  const s = openSqliteStore(join(home, "icfare.db"));
  assertEquals(await s.integrityCheck(), "ok");
  s.close();
  // The HTTP front's refusals are reached in server_http_test.ts (which checks it reaches them).
  const designCodes = Object.keys(ERRORS).filter((c) =>
    c !== "INTERNAL_ERROR" && !(FRONT_CODES as readonly string[]).includes(c)
  );
  assertEquals(designCodes.filter((c) => !seen.has(c)), [], "every error code reached");
});

Deno.test("server app: an unexpected failure is 500 INTERNAL_ERROR without details", async () => {
  const logged: string[] = [];
  const failing = {
    counts: () => Promise.reject(new TypeError("secret detail 6234567890123456")),
  } as unknown as Parameters<typeof createApp>[0]["store"];
  const { app } = createApp({
    store: failing,
    keys: await StaticTerminalKeys.fromHex({}),
    pan: await DevPanProtector.fromHex("11".repeat(32), "22".repeat(32)),
    logError: (id) => logged.push(id),
  });
  const r = await app.request("/healthz");
  const e = await expectError(r, 500, "INTERNAL_ERROR");
  assertEquals(logged, [e.requestId]);
});

Deno.test("server app: beyond maxInFlight concurrent uploads, 429 at once (load shedding)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-shed-" });
  const real = openSqliteStore(join(dir, "icfare.db"));
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const slow = Object.create(real) as typeof real;
  let entered = 0;
  slow.ingest = async (b) => (entered++, await gate, real.ingest(b));
  slow.batchDigest = (t, n) => real.batchDigest(t, n);
  const { app } = createApp({
    store: slow,
    keys: await StaticTerminalKeys.fromHex({ LC000123: testKeyHex("LC000123") }),
    pan: await DevPanProtector.fromHex("11".repeat(32), "22".repeat(32)),
    maxInFlight: 3,
    ratePerS: 1000,
    burst: 1000,
  });
  const key = await testKey("LC000123");
  const req = async (no: number) => {
    const body = json(sampleBatch({ batchNo: no }));
    const authorization = await signRequest({
      key,
      terminalId: "LC000123",
      method: "POST",
      path: "/v1/batches",
      body,
    });
    return app.request("/v1/batches", {
      method: "POST",
      body,
      headers: { authorization, "content-type": "application/json" },
    });
  };
  const held = [req(1), req(2), req(3)];
  while (entered < 3) await new Promise((r) => setTimeout(r, 5)); // all three inside the store
  const shed = await req(4);
  assertEquals(shed.headers.get("retry-after"), "1");
  await expectError(shed, 429, "RATE_LIMITED");
  release();
  assertEquals((await Promise.all(held)).map((r) => r.status), [200, 200, 200]);
  assertEquals((await req(4)).status, 200);
  real.close();
});

Deno.test("server app: a body that does not arrive in time is 408 REQUEST_TIMEOUT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-slow-" });
  const store = openSqliteStore(join(dir, "icfare.db"));
  const { app } = createApp({
    store,
    keys: await StaticTerminalKeys.fromHex({ LC000123: testKeyHex("LC000123") }),
    pan: await DevPanProtector.fromHex("11".repeat(32), "22".repeat(32)),
    bodyTimeoutMs: 100,
  });
  const body = json(sampleBatch({ batchNo: 1 }));
  const authorization = await signRequest({
    key: await testKey("LC000123"),
    terminalId: "LC000123",
    method: "POST",
    path: "/v1/batches",
    body,
  });
  // sends the first 10 bytes, then nothing (slowloris)
  const slow = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(body.subarray(0, 10));
    },
  });
  const r = await app.request("/v1/batches", {
    method: "POST",
    body: slow,
    headers: { authorization, "content-type": "application/json" },
  });
  await expectError(r, 408, "REQUEST_TIMEOUT");
  assertEquals(await store.counts(), { batches: 0, records: 0, pending: 0, rejected: 0 });
  store.close();
});
