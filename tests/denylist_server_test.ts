/**
 * The deny list as a terminal gets it (docs/denylist.md, "The signed list", "Endpoints"): a
 * real server (SM2 key, from the key store, as a subprocess; ECDSA P-256 in process), and a
 * terminal-side verifier written here from the documented bytes with node:crypto, sm-crypto and
 * WebCrypto — nothing of icfare's signing or list code. It takes the public key from
 * `/v1/denylist/key` (MACed with its own key), keeps its list offline, applies deltas, and
 * refuses tampered and older lists.
 */
import { assert, assertEquals } from "@icfare/assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { sm2 as smCrypto } from "sm-crypto";
import { KeyStore } from "../core/keys/mod.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { createApp } from "../server/app.ts";
import { StaticTerminalKeys } from "../core/auth/terminal_keys.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { signerFromPrivateKey } from "../core/keys/signing.ts";
import { send, testKeyHex } from "./support/terminal.ts";
import { spawnServer } from "./support/server_process.ts";
import { scanFiles, textHolds } from "./support/key_scan.ts";

// ---------------------------------------------------------------- the terminal's side

type Answer = {
  version: number;
  since: number;
  full: boolean;
  entries: { card: string; reason: string; action: string; version: number }[];
  entriesDigest: string;
  listDigest: string;
  signature: { algorithm: string; kcv: string; value: string };
};
type PinnedKey = { algorithm: string; publicKey: string; kcv: string };

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const be32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const hex = (b: Uint8Array) => toHex(b);

/** The documented signed bytes, rebuilt from the answer. */
function signedBytes(a: Answer): Uint8Array {
  return new Uint8Array([
    ...new TextEncoder().encode("ICFDL1"),
    ...be32(a.version),
    ...be32(a.since),
    a.full ? 1 : 0,
    ...be32(a.entries.length),
    ...fromHex(a.entriesDigest),
    ...fromHex(a.listDigest),
  ]);
}

function entriesDigestOf(a: Answer): string {
  const parts = a.entries.flatMap((e) => [
    Uint8Array.of(e.action === "add" ? 0x41 : 0x52),
    fromHex(e.card),
    be32(e.version),
    Uint8Array.of(e.reason.length),
    new TextEncoder().encode(e.reason),
  ]);
  return hex(sha256(...parts));
}

const listDigestOf = (cards: Set<string>) =>
  hex(sha256(...[...cards].map((c) => c.toUpperCase()).sort().map((c) => fromHex(c))));

async function verifySignature(key: PinnedKey, m: Uint8Array, sig: string): Promise<boolean> {
  if (key.algorithm === "sm2") {
    return smCrypto.doVerifySignature(Array.from(m), sig.toLowerCase(), key.publicKey, {
      hash: true,
      userId: "1234567812345678",
    });
  }
  const k = await crypto.subtle.importKey(
    "raw",
    fromHex(key.publicKey) as BufferSource,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  return crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    k,
    fromHex(sig) as BufferSource,
    m as BufferSource,
  );
}

/** A terminal's deny list: the cards, and the signed head it can check again offline. */
class Terminal {
  version = 0;
  cards = new Set<string>();
  head: { m: Uint8Array; sig: string } | null = null;
  constructor(readonly key: PinnedKey) {}

  /** Takes an answer, or says why not (state unchanged). */
  async accept(a: Answer): Promise<string> {
    if (a.signature.kcv !== this.key.kcv) return "signed by another key";
    if (entriesDigestOf(a) !== a.entriesDigest) return "entries do not match their digest";
    const m = signedBytes(a);
    if (!await verifySignature(this.key, m, a.signature.value)) return "bad signature";
    if (a.version < this.version) return "older than the list held";
    if (!a.full && a.since !== this.version) return "changes from another version";
    const next = a.full ? new Set<string>() : new Set(this.cards);
    for (const e of a.entries) e.action === "add" ? next.add(e.card) : next.delete(e.card);
    if (listDigestOf(next) !== a.listDigest) return "list digest differs after applying";
    this.cards = next;
    this.version = a.version;
    this.head = { m, sig: a.signature.value };
    return "ok";
  }

  /** Offline: the kept list still matches the kept signed head. */
  async checkKept(): Promise<boolean> {
    if (!this.head) return false;
    const m = this.head.m;
    const version = new DataView(m.buffer, m.byteOffset).getUint32(6);
    return version === this.version && hex(m.subarray(51, 83)) === listDigestOf(this.cards) &&
      await verifySignature(this.key, m, this.head.sig);
  }
}

// ---------------------------------------------------------------- the server's side

const card = (n: number) => ({ cardHash: n.toString(16).padStart(2, "0").repeat(32), psn: "01" });

async function getJson(url: string, path: string, key?: CryptoKey, tid = "LC000701") {
  const r = await send(url, null, { path, terminalId: tid, key });
  const text = await r.text();
  assertEquals(r.status, 200, text);
  return { text, body: JSON.parse(text), mac: r.headers.get("x-icfare-signature") };
}

/** The terminal's whole life against one server: key, full list, deltas, refusals. */
async function terminalLife(
  url: string,
  dbPath: string,
  tkey: CryptoKey,
  storeKcv: string,
  tid: string,
): Promise<string[]> {
  const texts: string[] = [];
  // the key, MACed with the terminal's own HMAC key
  const k = await getJson(url, "/v1/denylist/key", tkey, tid);
  const mac = await crypto.subtle.sign("HMAC", tkey, new TextEncoder().encode(k.text));
  assertEquals(k.mac, hex(new Uint8Array(mac)).toLowerCase());
  assertEquals(k.body.kcv, storeKcv, "the served key is the key store's");
  assertEquals(k.body.kcv, hex(sha256(fromHex(k.body.publicKey))).slice(0, 6));
  const t = new Terminal(k.body);

  const s = openSqliteStore(dbPath);
  const dl = s.denyList;
  dl.add(card(1), "ODA_FAILED", "clear", "r1");
  dl.add(card(2), "DEBT_DECLINED", "clear", "d2");
  dl.add(card(3), "CARD_EXPIRED", "clear", "r3");
  const first = await getJson(url, "/v1/denylist?since=0", tkey, tid);
  texts.push(first.text);
  assertEquals(await t.accept(first.body), "ok");
  assertEquals([t.version, t.cards.size], [3, 3]);

  dl.remove(card(2), "DEBT_RECOVERED", "collect", "d2");
  dl.add(card(4), "OPERATOR", "alice");
  dl.remove(card(1), "OPERATOR", "alice");
  const delta = await getJson(url, `/v1/denylist?since=${t.version}`, tkey, tid);
  texts.push(delta.text);
  assertEquals(delta.body.full, false);
  assertEquals(await t.accept(delta.body), "ok");
  const full = await getJson(url, "/v1/denylist?since=0", tkey, tid);
  texts.push(full.text);
  assertEquals([...t.cards].sort(), full.body.entries.map((e: { card: string }) => e.card).sort());
  assertEquals(t.version, 6);
  assert(await t.checkKept(), "the kept list checks offline");

  // refusals: tampered in every part, older, or from another version
  const tamper = (f: (a: Answer) => void) => {
    const a = JSON.parse(delta.text) as Answer;
    f(a);
    return a;
  };
  const fresh = () => Object.assign(new Terminal(t.key), { version: 3, cards: new Set(t.cards) });
  const cases: [string, Answer, string][] = [
    ["a card changed", tamper((a) => a.entries[0].card = "AB".repeat(32)), "entries"],
    [
      "action flipped",
      tamper((a) => a.entries[0].action = a.entries[0].action === "add" ? "remove" : "add"),
      "entries",
    ],
    [
      "digest recomputed",
      tamper((a) => (a.entries[0].card = "AB".repeat(32), a.entriesDigest = entriesDigestOf(a))),
      "bad signature",
    ],
    ["version raised", tamper((a) => a.version = 99), "bad signature"],
    ["list digest", tamper((a) => a.listDigest = "00".repeat(32)), "bad signature"],
    [
      "signature",
      tamper((a) =>
        a.signature.value = (a.signature.value[0] === "0" ? "1" : "0") + a.signature.value.slice(1)
      ),
      "bad",
    ],
  ];
  for (const [what, a, why] of cases) {
    const v = fresh();
    v.cards = new Set(JSON.parse(first.text).entries.map((e: { card: string }) => e.card));
    assert((await v.accept(a)).includes(why.split(" ")[0]), what);
    assertEquals(v.version, 3, `${what}: state unchanged`);
  }
  assertEquals(await t.accept(first.body), "older than the list held");
  const kept = new Set(t.cards);
  t.cards.delete([...t.cards][0]);
  assert(!await t.checkKept(), "a card dropped from the kept list is found");
  t.cards = kept;
  s.close();
  return texts;
}

Deno.test("deny list, SM2 key in the key store, subprocess server: a terminal verifies it offline", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-deny-home-" });
  const outside = await Deno.makeTempDir({ prefix: "icfare-deny-master-" });
  const masterFile = join(outside, "master.key");
  const master = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(masterFile, toHex(master), { mode: 0o600 });
  await Deno.chmod(masterFile, 0o600);
  const ks = await KeyStore.init(home, master, "test");
  await ks.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
  await ks.generate({ id: "data-1", usage: "data", algorithm: "aes" });
  // a legacy HMAC deny-list key beside it is passed over
  await ks.generate({ id: "deny-old", usage: "denylist-sign", algorithm: "hmac-sha256" });
  const sk = await ks.generate({ id: "deny-1", usage: "denylist-sign", algorithm: "sm2" });
  const term = await ks.terminalAdd("LC000701");
  const tkey = await importHmacKey(fromHex(term.keyHex));
  const priv = ks.withKey("deny-1", (k) => k.slice());

  // the store must exist before the test writes to it
  openSqliteStore(join(home, "icfare.db")).close();
  const srv = await spawnServer(home, undefined, ["--master-key-file", masterFile]);
  let texts: string[];
  try {
    texts = await terminalLife(srv.url, join(home, "icfare.db"), tkey, sk.kcv, "LC000701");
  } finally {
    await srv.stop();
  }
  // no private key in any answer, in the server's output or anywhere in the home
  for (const t of [...texts, srv.stderr()]) assert(!textHolds(t, priv));
  const scan = await scanFiles([home], [priv]);
  assertEquals(scan.hits, []);
  priv.fill(0);
  ks.close();
});

Deno.test("deny list, ECDSA P-256 key, in-process app: same terminal, same checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-deny-p256-" });
  const db = join(dir, "icfare.db");
  const store = openSqliteStore(db);
  // a fixed key (RFC 6979 A.2.5's), so a failure reproduces
  const priv = fromHex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
  const signer = signerFromPrivateKey("deny-p256", "ecdsa-p256", priv);
  const { app } = createApp({
    store,
    keys: await StaticTerminalKeys.fromHex({ LC000123: testKeyHex("LC000123") }),
    pan: await DevPanProtector.fromHex("5A".repeat(32), "D4".repeat(32)),
    denyListSigner: signer,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const tkey = await importHmacKey(fromHex(testKeyHex("LC000123")));
    const texts = await terminalLife(url, db, tkey, signer.info.kcv, "LC000123");
    for (const t of texts) assert(!textHolds(t, priv));
  } finally {
    await server.shutdown();
    signer.close();
    store.close();
  }
});
