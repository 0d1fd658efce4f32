/**
 * A simulated terminal for tests and the load benchmark: builds chip data with every tag the
 * upload contract requires, builds batches, and signs requests with `signRequest`.
 */
import { encodePrimitives } from "../../core/tlv/encode.ts";
import { fromHex, toHex } from "../../core/hex.ts";
import { signRequest } from "../../core/auth/hmac.ts";
import { importHmacKey } from "../../core/auth/terminal_keys.ts";

export interface CardTap {
  pan?: string;
  psn?: string;
  atc?: number;
  fare?: number;
  /** Adds a tag 57 (track 2 equivalent) object. */
  track2?: boolean;
}

function n12(v: number): Uint8Array {
  return fromHex(String(v).padStart(12, "0"));
}

/** Field-55 style chip data (hex) for one tap. */
export function sampleIcc(t: CardTap = {}): string {
  const pan = t.pan ?? "6234567890123456";
  const panCn = pan.length % 2 ? pan + "F" : pan;
  const atc = t.atc ?? 1;
  const pairs: [string, Uint8Array][] = [
    ["9F26", fromHex("3B76CF10FECD8789")],
    ["9F27", fromHex("40")],
    ["9F10", fromHex("07010103900000010A01000007734" + "7A057AB9E")],
    ["9F36", Uint8Array.of(atc >> 8, atc & 0xff)],
    ["9F37", fromHex("12345678")],
    ["9F02", n12(t.fare ?? 200)],
    ["9F03", n12(0)],
    ["9F1A", fromHex("0156")],
    ["95", fromHex("0000000000")],
    ["5F2A", fromHex("0156")],
    ["9A", fromHex("160624")],
    ["9C", fromHex("00")],
    ["82", fromHex("7C00")],
    ["5A", fromHex(panCn)],
    ["5F34", fromHex(t.psn ?? "01")],
    ["5F24", fromHex("301231")],
    ["84", fromHex("A000000333010101")],
  ];
  if (t.track2) pairs.push(["57", fromHex(`${panCn}D30122010000000000`)]);
  return toHex(encodePrimitives(pairs));
}

export interface BatchOptions {
  terminalId?: string;
  batchNo?: number;
  records?: number;
  fare?: number;
  /** First ATC; records use consecutive ATCs. */
  atc?: number;
  panBase?: number;
}

/** An upload body object (docs/upload-api.md). */
export function sampleBatch(o: BatchOptions = {}) {
  const n = o.records ?? 3;
  const fare = o.fare ?? 200;
  const records = Array.from({ length: n }, (_, i) => ({
    seq: i + 1,
    tappedAt: "2016-06-24T07:31:02+08:00",
    line: "K1",
    vehicle: "LC-1024",
    stop: "S015",
    fare,
    icc: sampleIcc({
      pan: String(6234567890000000 + (o.panBase ?? 0) + i),
      atc: (o.atc ?? 1) + i,
      fare,
    }),
  }));
  return {
    terminalId: o.terminalId ?? "LC000123",
    merchantId: "898371641110001",
    batchNo: o.batchNo ?? 1,
    denyListVersion: 0,
    records,
    totals: { count: n, amount: n * fare },
  };
}

export const enc = new TextEncoder();

/** Deterministic test key for a terminal id (32 bytes hex). */
export function testKeyHex(terminalId: string): string {
  let s = "";
  for (let i = 0; i < 32; i++) {
    s += ((terminalId.charCodeAt(i % terminalId.length) * 31 + i * 7) & 0xff).toString(16)
      .padStart(2, "0");
  }
  return s;
}

const keyCache = new Map<string, CryptoKey>();

/** The CryptoKey for `testKeyHex(terminalId)`. */
export async function testKey(terminalId: string): Promise<CryptoKey> {
  let k = keyCache.get(terminalId);
  if (!k) keyCache.set(terminalId, k = await importHmacKey(fromHex(testKeyHex(terminalId))));
  return k;
}

export interface SendOptions {
  method?: string;
  path?: string;
  terminalId?: string;
  key?: CryptoKey;
  timestamp?: number;
  contentType?: string;
  /** Replace the Authorization header entirely (null: send none). */
  authorization?: string | null;
  /** Aborts the request (e.g. `AbortSignal.timeout(ms)`). */
  signal?: AbortSignal;
}

/** Sends a signed request to `base` (e.g. http://127.0.0.1:8080). */
export async function send(
  base: string,
  body: Uint8Array | null,
  o: SendOptions = {},
): Promise<Response> {
  const method = o.method ?? (body ? "POST" : "GET");
  const path = o.path ?? "/v1/batches";
  const terminalId = o.terminalId ?? "LC000123";
  const key = o.key ?? await testKey(terminalId);
  const headers: Record<string, string> = {};
  const auth = o.authorization !== undefined ? o.authorization : await signRequest({
    key,
    terminalId,
    method,
    path: path.split("?")[0],
    body: body ?? undefined,
    timestamp: o.timestamp,
  });
  if (auth !== null) headers.authorization = auth;
  if (body) headers["content-type"] = o.contentType ?? "application/json";
  return await fetch(base + path, {
    method,
    headers,
    body: body as BodyInit | null,
    signal: o.signal,
  });
}
