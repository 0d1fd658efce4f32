/**
 * Against the subprocess server (issue 14 item 10 and the HTTP front): a wrong method on a known
 * path is 405 with `Allow`; malformed framing and oversized heads are coded 400/431 answers;
 * `line`, `vehicle` and `stop` accept printable text only (controls, bidi overrides, zero-width
 * characters, whitespace-only and lone surrogates are refused, not replaced); `tappedAt` offsets
 * stay within ±14:00 and years within 2000-2099. A batch with good Unicode text is stored as sent.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { makeHome, spawnServer } from "./support/server_process.ts";
import { rawExchange } from "./support/raw_http.ts";
import { expectError, FRONT_CODES, seenCodes } from "./support/api_errors.ts";

const TID = "LC000123";

/** The wrong method on each known path: 405, `Allow` naming the right ones. */
async function wrongMethods(url: string): Promise<void> {
  const cases: [string, string, string][] = [
    ["GET", "/v1/batches", "POST"],
    ["PUT", "/v1/batches", "POST"],
    ["DELETE", "/v1/batches/LC000123/1", "GET, HEAD"],
    ["POST", "/v1/denylist", "GET, HEAD"],
    ["POST", "/healthz", "GET, HEAD"],
    ["PATCH", "/metrics", "GET, HEAD"],
    ["OPTIONS", "/openapi.json", "GET, HEAD"],
  ];
  for (const [method, path, allow] of cases) {
    const r = await fetch(url + path, { method });
    assertEquals(r.headers.get("allow"), allow, `${method} ${path}`);
    await expectError(r, 405, "METHOD_NOT_ALLOWED");
  }
  const head = await fetch(url + "/healthz", { method: "HEAD" });
  assertEquals(head.status, 200);
  await head.body?.cancel();
  await expectError(await fetch(url + "/v1/nothing", { method: "PUT" }), 404, "NOT_FOUND");
}

/** What only the front answers, seen over raw TCP. */
async function frontRefusals(port: number): Promise<void> {
  const cases: [string, number, string][] = [
    [
      "POST /v1/batches HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400,
      "BAD_REQUEST",
    ],
    ["GET /healthz HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", 400, "BAD_REQUEST"],
    ["GET /healthz HTTP/9.9\r\n\r\n", 400, "BAD_REQUEST"],
    [`GET /healthz HTTP/1.1\r\nCookie: ${"c".repeat(20_000)}\r\n\r\n`, 431, "HEADERS_TOO_LARGE"],
  ];
  for (const [req, status, code] of cases) {
    const r = await rawExchange(port, req);
    const [a] = r.answers;
    assertEquals(a?.status, status, req.slice(0, 50));
    const e = JSON.parse(a.body).error;
    assertEquals(e.code, code);
    assert(/^[0-9a-f-]{36}$/.test(e.requestId));
    assert(r.closed, "the connection is closed after a framing refusal");
    seenCodes.add(code);
  }
}

/** Text a terminal may not send, with the field it goes in. */
const BAD_TEXT: [field: "line" | "vehicle" | "stop", value: string, why: string][] = [
  ["line", "K\u00001", "NUL"],
  ["line", "K1\u001b[31m", "escape sequence"],
  ["vehicle", "LC-\u202E4201", "bidi override"],
  ["vehicle", "LC\u2066-1\u2069", "bidi isolate"],
  ["stop", "S0\u200B15", "zero-width space"],
  ["stop", "\uFEFFS015", "byte order mark"],
  ["line", "   ", "whitespace only"],
  ["vehicle", "\u3000\u00A0", "Unicode spaces only"],
  ["line", "K\u20281", "line separator"],
  ["stop", "S\u0085", "C1 control"],
];

/** Each bad text value: 400 VALIDATION_FAILED naming the field. */
async function badText(url: string): Promise<void> {
  let no = 10;
  for (const [field, value, why] of BAD_TEXT) {
    const b = sampleBatch({ batchNo: no++ });
    (b.records[1] as Record<string, unknown>)[field] = value;
    const e = await expectError(
      await send(url, enc.encode(JSON.stringify(b))),
      400,
      "VALIDATION_FAILED",
      `records[1].${field}`,
    );
    assert(/printable|whitespace/.test(e.message), `${why}: ${e.message}`);
  }
  // A lone surrogate, written as a JSON escape (valid UTF-8 on the wire): refused, not replaced.
  const text = JSON.stringify(sampleBatch({ batchNo: no++ })).replace('"K1"', '"K\\ud800"');
  const e = await expectError(
    await send(url, enc.encode(text)),
    400,
    "VALIDATION_FAILED",
    "records[0].line",
  );
  assert(e.message.includes("lone surrogate"), e.message);
}

/** `tappedAt` offsets beyond ±14:00, impossible days and implausible years. */
async function badTimes(url: string): Promise<void> {
  const cases: [string, RegExp][] = [
    ["2016-06-24T07:31:02+14:30", /offset/],
    ["2016-06-24T07:31:02-15:00", /offset/],
    ["2016-06-24T07:31:02+08:60", /offset/],
    ["1970-01-01T00:00:00Z", /year/],
    ["2999-06-24T07:31:02+08:00", /year/],
    ["2026-02-30T07:31:02+08:00", /real date/],
  ];
  let no = 40;
  for (const [tappedAt, why] of cases) {
    const b = sampleBatch({ batchNo: no++ });
    b.records[2].tappedAt = tappedAt;
    const e = await expectError(
      await send(url, enc.encode(JSON.stringify(b))),
      400,
      "VALIDATION_FAILED",
      "records[2].tappedAt",
    );
    assert(why.test(e.message), `${tappedAt}: ${e.message}`);
  }
}

/** Good text in other scripts and offsets at the limits are stored exactly as sent. */
async function goodTextStored(url: string, home: string): Promise<void> {
  const b = sampleBatch({ batchNo: 60 });
  b.records[0].line = "环城1路";
  b.records[0].vehicle = "鲁P·12345";
  b.records[1].tappedAt = "2016-06-24T07:31:02+14:00";
  b.records[2].tappedAt = "2016-06-23T07:31:02-12:00";
  const r = await send(url, enc.encode(JSON.stringify(b)));
  assertEquals(r.status, 200, await r.text());
  const db = new DatabaseSync(join(home, "icfare.db"));
  const rows = db.prepare(
    "SELECT line, vehicle, tapped_at FROM records WHERE batch_no = 60 ORDER BY seq",
  ).all();
  db.close();
  assertEquals(rows[0].line, "环城1路");
  assertEquals(rows[0].vehicle, "鲁P·12345");
  assertEquals(rows[1].tapped_at, "2016-06-24T07:31:02+14:00");
}

Deno.test("server HTTP: 405 with Allow, framing refusals, printable text and plausible times only", async (t) => {
  const home = await makeHome([TID]);
  const srv = await spawnServer(home, undefined, ["--rate", "1000", "--burst", "1000"]);
  try {
    await t.step("405 METHOD_NOT_ALLOWED with Allow", () => wrongMethods(srv.url));
    await t.step("400 BAD_REQUEST and 431 from the front", () => frontRefusals(srv.port));
    await t.step("line, vehicle, stop: printable text only", () => badText(srv.url));
    await t.step("tappedAt: offsets within ±14:00, years 2000-2099", () => badTimes(srv.url));
    await t.step("good Unicode text is stored as sent", () => goodTextStored(srv.url, home));
  } finally {
    await srv.stop();
  }
  assertEquals(FRONT_CODES.filter((c) => !seenCodes.has(c)), [], "every front code reached");
});
