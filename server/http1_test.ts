/**
 * The HTTP/1.1 front on its own, with an echo handler: head deadline, head size, framing rules,
 * chunked bodies, keep-alive and pipelining, Expect: 100-continue, the connection cap. Every
 * refusal is the API's coded JSON answer. Time bounds here are bounds on correctness (a slow
 * head is refused "within a few seconds", never "in 10 ms"), not benchmarks.
 */
import { assert, assertEquals } from "@icfare/assert";
import { serveHttp1 } from "./http1.ts";
import { ApiError, errorAnswer } from "../core/upload/errors.ts";
import { RawConn, rawExchange } from "../tests/support/raw_http.ts";

/** Echoes what it read; a body that fails to read answers as the app does (coded JSON). */
async function echo(req: Request): Promise<Response> {
  let body: Uint8Array;
  try {
    body = req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array(0);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const a = errorAnswer(e, crypto.randomUUID());
    return new Response(a.body, { status: a.status, headers: a.headers });
  }
  return new Response(
    JSON.stringify({ method: req.method, path: new URL(req.url).pathname, bytes: body.length }),
    { headers: { "content-type": "application/json" } },
  );
}

async function withServer(
  o: Partial<Parameters<typeof serveHttp1>[0]>,
  f: (port: number, refusals: string[]) => Promise<void>,
) {
  const refusals: string[] = [];
  const s = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    ...o,
    onRefusal: (status, code) => refusals.push(`${status} ${code}`),
  }, echo);
  try {
    await f(s.addr.port, refusals);
  } finally {
    await s.shutdown();
  }
}

function coded(a: { status: number; headers: Map<string, string>; body: string }, code: string) {
  assertEquals(a.headers.get("content-type"), "application/json");
  const e = JSON.parse(a.body).error;
  assertEquals(e.code, code);
  assert(typeof e.message === "string" && e.message.length > 0);
  assert(/^[0-9a-f-]{36}$/.test(e.requestId));
}

Deno.test("http1: a head that arrives too slowly is 408 REQUEST_TIMEOUT and the connection closes", async () => {
  await withServer({ headerTimeoutMs: 300 }, async (port, refusals) => {
    const c = await RawConn.open(port);
    await c.send("POST /v1/batches HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => c.send("X"), 50); // a byte every 50 ms, never a full head
    const closed = await c.waitClosed(5000);
    clearInterval(drip);
    assert(closed, "closed within 5 s");
    const [a] = c.answers();
    assertEquals(a.status, 408);
    coded(a, "REQUEST_TIMEOUT");
    assertEquals(a.headers.get("connection"), "close");
    assertEquals(refusals, ["408 REQUEST_TIMEOUT"]);
    c.close();
  });
});

Deno.test("http1: head size, header count, framing and request-line refusals", async () => {
  await withServer({ headerBytesMax: 1024, headersMax: 10 }, async (port) => {
    const cases: [string, number, string][] = [
      [`GET / HTTP/1.1\r\nX: ${"a".repeat(2000)}\r\n\r\n`, 431, "HEADERS_TOO_LARGE"],
      [`GET / HTTP/1.1\r\n${"X: 1\r\n".repeat(11)}\r\n`, 431, "HEADERS_TOO_LARGE"],
      [
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        400,
        "BAD_REQUEST",
      ],
      ["POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd", 400, "BAD_REQUEST"],
      ["POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "BAD_REQUEST"],
      ["POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400, "BAD_REQUEST"],
      ["GET http://evil/ HTTP/1.1\r\n\r\n", 400, "BAD_REQUEST"],
      ["GET / HTTP/2.0\r\n\r\n", 400, "BAD_REQUEST"],
      ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "BAD_REQUEST"],
      ["GET / HTTP/1.1\r\nBad Header: 1\r\n\r\n", 400, "BAD_REQUEST"],
      ["GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", 400, "BAD_REQUEST"],
      ["GET / HTTP/1.1\r\n folded: 1\r\n\r\n", 400, "BAD_REQUEST"],
      ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400, "BAD_REQUEST"],
      ["CONNECT / HTTP/1.1\r\n\r\n", 400, "BAD_REQUEST"],
    ];
    for (const [req, status, code] of cases) {
      const r = await rawExchange(port, req);
      assertEquals(r.answers.length, 1, JSON.stringify(req.slice(0, 60)));
      assertEquals(r.answers[0].status, status, JSON.stringify(req.slice(0, 60)));
      coded(r.answers[0], code);
      assert(r.closed, "closed after a refusal");
    }
  });
});

Deno.test("http1: chunked and sized bodies, pipelined keep-alive requests, Connection: close", async () => {
  await withServer({}, async (port) => {
    const r = await rawExchange(
      port,
      "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nTrailer: x\r\n\r\n" +
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
        "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assertEquals(r.answers.map((a) => a.status), [200, 200, 200]);
    assertEquals(r.answers.map((a) => JSON.parse(a.body)), [
      { method: "POST", path: "/a", bytes: 7 },
      { method: "POST", path: "/b", bytes: 5 },
      { method: "GET", path: "/c", bytes: 0 },
    ]);
    assertEquals(r.answers[2].headers.get("connection"), "close");
    assert(r.closed);
  });
});

Deno.test("http1: Expect 100-continue is answered when the body is read; HTTP/1.0 closes", async () => {
  await withServer({}, async (port) => {
    const c = await RawConn.open(port);
    await c.send("POST /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    const deadline = performance.now() + 3000;
    while (!c.text.includes("100 Continue") && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert(c.text.startsWith("HTTP/1.1 100 Continue\r\n\r\n"), c.text);
    await c.send("abc");
    await c.waitAnswers(2, 3000);
    assertEquals(JSON.parse(c.answers()[1].body).bytes, 3);
    c.close();
    const r = await rawExchange(port, "GET /old HTTP/1.0\r\n\r\n");
    assertEquals(r.answers[0].status, 200);
    assert(r.closed, "HTTP/1.0 is answered once and closed");
  });
});

Deno.test("http1: beyond maxConnections a connection is answered 429 and closed; others go on", async () => {
  await withServer({ maxConnections: 2 }, async (port) => {
    const held = [await RawConn.open(port), await RawConn.open(port)];
    await held[0].send("GET / HTTP/1.1\r\n"); // two connections, heads unfinished
    await new Promise((r) => setTimeout(r, 100));
    const third = await rawExchange(port, "GET / HTTP/1.1\r\n\r\n");
    assertEquals(third.answers[0].status, 429);
    coded(third.answers[0], "RATE_LIMITED");
    for (const h of held) h.close();
    await new Promise((r) => setTimeout(r, 100));
    const after = await rawExchange(port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assertEquals(after.answers[0].status, 200);
  });
});
