/**
 * Upload slots cannot be held without a key (issue 14 item 2), against the real server as a
 * subprocess with its default limits: 100 key-less slow uploads — a known terminal id, a fresh
 * timestamp, a zero signature, a 100 kB Content-Length and only 10 bytes of body — plus 20
 * connections dripping an unfinished head, all open at once; a signed upload from a real
 * terminal is still stored, and answered within 1 s (a generous bound on correctness, not a
 * benchmark: the same upload alone takes a few ms). The per-terminal cap answers all but 4 of
 * the slow uploads 429 at once.
 *
 * Then, with short limits, each slow sender is answered and disconnected: slow heads get 408
 * after --header-timeout-ms, slow bodies 408 once they fall behind --body-min-rate; a body that
 * keeps above the floor is stored even though it takes longer than the grace.
 */
import { assert, assertEquals } from "@icfare/assert";
import { enc, sampleBatch, send, testKey } from "./support/terminal.ts";
import { signRequest } from "../core/auth/hmac.ts";
import { makeHome, spawnServer } from "./support/server_process.ts";
import { RawConn } from "./support/raw_http.ts";

const ATTACKED = "LC000501", REAL = "LC000502";

/** A key-less upload: known terminal, fresh timestamp, zero signature; 10 bytes of a 100 kB body. */
async function slowUpload(port: number): Promise<RawConn> {
  const c = await RawConn.open(port);
  const ts = Math.floor(Date.now() / 1000);
  await c.send(
    "POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
      `Authorization: ICFARE-HMAC-SHA256 Credential=${ATTACKED}, Timestamp=${ts}, ` +
      `Signature=${"0".repeat(64)}\r\nContent-Length: 100000\r\n\r\n{"terminal`,
  );
  return c;
}

/**
 * A signed upload sent 100 bytes every 40 ms (about 2,500 bytes/s): past the 500 ms grace, above
 * the 1,000 bytes/s floor. Returns the answer and how long the body took.
 */
async function steadyUpload(port: number, batchNo: number) {
  const body = enc.encode(JSON.stringify(sampleBatch({ terminalId: REAL, batchNo })));
  const auth = await signRequest({
    key: await testKey(REAL),
    terminalId: REAL,
    method: "POST",
    path: "/v1/batches",
    body,
  });
  const c = await RawConn.open(port);
  await c.send(
    `POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Authorization: ${auth}\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  const t0 = performance.now();
  for (let o = 0; o < body.length; o += 100) {
    await c.send(body.subarray(o, o + 100));
    await new Promise((r) => setTimeout(r, 40));
  }
  const [a] = await c.waitAnswers(1, 5000);
  c.close();
  const ms = performance.now() - t0;
  assert(ms > 500, `the body took ${ms.toFixed(0)} ms, longer than the grace`);
  return { status: a?.status, body: a?.body ?? c.text };
}

/** A head that never ends. */
async function slowHead(port: number): Promise<RawConn> {
  const c = await RawConn.open(port);
  await c.send("POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  return c;
}

Deno.test("slots: a real terminal's signed upload is answered while 100 key-less slow uploads hold their slots", async () => {
  const home = await makeHome([ATTACKED, REAL]);
  const srv = await spawnServer(home); // default limits
  const conns: RawConn[] = [];
  try {
    for (let i = 0; i < 100; i++) conns.push(await slowUpload(srv.port));
    for (let i = 0; i < 20; i++) conns.push(await slowHead(srv.port));
    // Every key-less upload has reached the app: all but the terminal's 4 slots are answered.
    for (let i = 0; i < 200; i++) {
      if (conns.slice(0, 100).filter((c) => c.answers().length > 0).length >= 96) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const body = enc.encode(JSON.stringify(sampleBatch({ terminalId: REAL, batchNo: 1 })));
    const t0 = performance.now();
    const r = await send(srv.url, body, { terminalId: REAL });
    const text = await r.text();
    const ms = performance.now() - t0;
    assertEquals(r.status, 200, text);
    assertEquals(JSON.parse(text).accepted, 3);
    // Not a speed target (that is the bench's business): answered while every slow connection is
    // still open, long before the 10 s head/body grace would free a slot.
    assert(ms < 5000, `answered in ${ms.toFixed(0)} ms with 120 slow connections open`);
    const refused = conns.slice(0, 100).filter((c) => c.answers()[0]?.status === 429);
    assertEquals(refused.length, 96, "all but the terminal's 4 slots refused at once");
    for (const c of refused) {
      assertEquals(JSON.parse(c.answers()[0].body).error.code, "RATE_LIMITED");
    }
    console.log(
      `slots: signed upload answered 200 in ${ms.toFixed(0)} ms with 100 slow key-less ` +
        `uploads (96 refused 429 at once) and 20 slow heads open`,
    );
  } finally {
    for (const c of conns) c.close();
    await srv.stop();
  }
});

Deno.test("slots: slow heads and slow bodies are answered 408 and disconnected", async () => {
  const home = await makeHome([ATTACKED, REAL]);
  const srv = await spawnServer(home, undefined, [
    "--header-timeout-ms",
    "500",
    "--body-timeout-ms",
    "500",
    "--body-min-rate",
    "1000",
  ]);
  try {
    const head = await slowHead(srv.port);
    const body = await slowUpload(srv.port);
    // Bounds on correctness: 500 ms limits, answered well within 5 s.
    assert(await head.waitClosed(5000), "slow head disconnected");
    assert(await body.waitClosed(5000), "slow body disconnected");
    for (const c of [head, body]) {
      const [a] = c.answers();
      assertEquals(a.status, 408, c.text);
      assertEquals(JSON.parse(a.body).error.code, "REQUEST_TIMEOUT");
    }
    assert(
      JSON.parse(body.answers()[0].body).error.message.includes("slower than 1000 bytes/s"),
      body.text,
    );
    // A body that keeps above the floor may take longer than the grace: its bound grows with it.
    const steady = await steadyUpload(srv.port, 2);
    assertEquals(steady.status, 200, steady.body);
    assertEquals(JSON.parse(steady.body).accepted, 3);
  } finally {
    await srv.stop();
  }
});
