import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { fromHex, toHex } from "../hex.ts";
import { verifyAudit } from "./audit.ts";
import { capkSource, importCapks } from "./capk.ts";
import type { KeyStoreError } from "./errors.ts";
import { kcv } from "./kcv.ts";
import { KeyStore, keyStorePaths } from "./store.ts";
import { unwrap } from "./tr31.ts";

const IMK = "0123456789ABCDEFFEDCBA9876543210"; // docs/emv-pboc.md, "Published test vectors": KCV 08D7B4
const UP08_MODULUS =
  "B61645EDFD5498FB246444037A0FA18C0F101EBD8EFA54573CE6E6A7FBF63ED21D66340852B0211CF5EEF6A1CD989F66AF21A8EB19DBD8DBC3706D135363A0D683D046304F5A836BC1BC632821AFE7A2F75DA3C50AC74C545A754562204137169663CFCC0B06E67E2109EBA41BC67FF20CC8AC80D7B6EE1A95465B3B2657533EA56D92D539E5064360EA4850FED2D1BF";

async function fresh(): Promise<{ home: string; master: Uint8Array; store: KeyStore }> {
  const home = await Deno.makeTempDir({ prefix: "icfare-keys-" });
  const master = crypto.getRandomValues(new Uint8Array(32));
  const store = await KeyStore.init(home, master, "tester");
  return { home, master, store };
}

/** The keys an officer made (the store's own terminal table key, `icfare:…`, left out). */
function officerKeys(s: KeyStore) {
  return s.list().keys.filter((k) => !k.id.startsWith("icfare:"));
}

async function code(p: Promise<unknown>): Promise<string> {
  const e = await assertRejects(() => p);
  return (e as KeyStoreError).code;
}

Deno.test("init, open with the right master, refuse a wrong one and a tampered file", async () => {
  const { home, master, store } = await fresh();
  await store.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
  const again = await KeyStore.open(home, master);
  assertEquals(officerKeys(again).length, 1);
  assertEquals(await code(KeyStore.open(home, new Uint8Array(32).fill(7))), "WRONG_MASTER_KEY");
  assertEquals(await code(KeyStore.init(home, master, "x")), "KEYSTORE_EXISTS");
  const p = keyStorePaths(home).store;
  const text = await Deno.readTextFile(p);
  await Deno.writeTextFile(p, text.replace('"state": "active"', '"state": "retired"'));
  assertEquals(await code(KeyStore.open(home, master)), "KEYSTORE_TAMPERED");
  await Deno.writeTextFile(p, text);
  await KeyStore.open(home, master);
  // Swapping two keys' blocks in the file is refused (the store MAC; the block's own binding
  // of id/usage/KCV is the second line of defence, checked on every unwrap).
  await store.generate({ id: "pan-hash-2", usage: "pan-hash", algorithm: "hmac-sha256" });
  const two = await Deno.readTextFile(p);
  const obj = JSON.parse(two);
  assert(obj.keys[0].block.startsWith("D0"));
  [obj.keys[0].block, obj.keys[1].block] = [obj.keys[1].block, obj.keys[0].block];
  await Deno.writeTextFile(p, JSON.stringify(obj));
  assertEquals(await code(KeyStore.open(home, master)), "KEYSTORE_TAMPERED");
  await Deno.writeTextFile(p, two);
  assertEquals(officerKeys(await KeyStore.open(home, master)).length, 2);
  await Deno.remove(home, { recursive: true });
});

Deno.test("dev import: KCV checked, a wrong KCV refuses the whole file", async () => {
  const { home, store } = await fresh();
  const good = {
    id: "imk-ac-621234",
    usage: "imk-ac",
    algorithm: "3des",
    issuer: "621234",
    dki: "01",
    value: IMK,
    kcv: "08D7B4",
  };
  const bad = { ...good, id: "imk-ac-2", kcv: "08D7B5" };
  assertEquals(await code(store.importDev({ keys: [good, bad] })), "KCV_MISMATCH");
  assertEquals(officerKeys(store).length, 0);
  const [r] = await store.importDev({ keys: [good] });
  assertEquals(r.kcv, "08D7B4");
  assertEquals(r.kcvMethod, "legacy");
  assert(!JSON.stringify(store.list()).includes(IMK));
  // Getter: longest issuer prefix wins; the caller gets the clear key in memory only.
  await store.importDev({
    keys: [{
      ...good,
      id: "imk-ac-62",
      issuer: "62",
      value: "11".repeat(16),
      kcv: kcv("3des", fromHex("11".repeat(16))),
    }],
  });
  const got = store.issuerMasterKey({
    pan: "6212345678901234",
    usage: "imk-ac",
    algorithm: "3des",
    dki: "01",
  })!;
  assertEquals(toHex(got.key), IMK);
  got.key.fill(0);
  assertEquals(
    store.issuerMasterKey({ pan: "6299999999999999", usage: "imk-ac", algorithm: "3des" })!.info.id,
    "imk-ac-62",
  );
  assertEquals(
    store.issuerMasterKey({ pan: "4111111111111111", usage: "imk-ac", algorithm: "3des" }),
    null,
  );
  assertEquals(
    store.issuerMasterKey({ pan: "6212345678901234", usage: "imk-mac", algorithm: "3des" }),
    null,
  );
  await store.retire("imk-ac-621234");
  assertEquals(
    store.issuerMasterKey({ pan: "6212345678901234", usage: "imk-ac", algorithm: "3des" })!.info.id,
    "imk-ac-62",
  );
  await Deno.remove(home, { recursive: true });
});

Deno.test("components: no single custodian yields an active key; wrong KCV and repeats refused", async () => {
  const { home, store } = await fresh();
  const c1 = fromHex("1111111111111111AAAAAAAAAAAAAAAA");
  const c2 = fromHex("2222222222222222BBBBBBBBBBBBBBBB");
  const c3 = fromHex("0123456789ABCDEF0123456789ABCDEF");
  const full = new Uint8Array(16);
  for (let i = 0; i < 16; i++) full[i] = c1[i] ^ c2[i] ^ c3[i];
  const spec = {
    id: "imk-3",
    usage: "imk-ac" as const,
    algorithm: "3des" as const,
    issuer: "621234",
    dki: "01",
    parts: 3,
  };
  // Wrong component KCV: refused, nothing pending.
  assertEquals(await code(store.componentAdd(spec, "alice", c1, "000000")), "KCV_MISMATCH");
  assertEquals(store.list().pending.length, 0);
  const r1 = await store.componentAdd(spec, "alice", c1, kcv("3des", c1));
  assertEquals(r1.state, "pending");
  // Alice alone, however often, gets nowhere.
  assertEquals(await code(store.componentAdd(spec, "alice", c2, kcv("3des", c2))), "DUAL_CONTROL");
  assertEquals(
    await code(store.componentAdd(spec, "bob", c1, kcv("3des", c1))),
    "COMPONENT_REFUSED",
  );
  const r2 = await store.componentAdd(spec, "bob", c2, kcv("3des", c2));
  assertEquals(r2.state, "pending");
  assertEquals(officerKeys(store).length, 0);
  assertEquals(
    store.issuerMasterKey({ pan: "6212345678901234", usage: "imk-ac", algorithm: "3des" }),
    null,
  );
  assertEquals(
    await code(Promise.resolve().then(() => store.withKey("imk-3", () => 0))),
    "KEY_NOT_ACTIVE",
  );
  const r3 = await store.componentAdd(spec, "carol", c3, kcv("3des", c3));
  assertEquals(r3.state, "active");
  assertEquals(r3.state === "active" && r3.key.kcv, kcv("3des", full));
  store.withKey("imk-3", (k) => assertEquals(toHex(k), toHex(full)));
  // Two parts with an expected combined KCV that does not match: discarded.
  const spec2 = { ...spec, id: "imk-2", parts: 2, combinedKcv: "ABCDEF" };
  await store.componentAdd(spec2, "alice", c1, kcv("3des", c1));
  assertEquals(await code(store.componentAdd(spec2, "bob", c2, kcv("3des", c2))), "KCV_MISMATCH");
  assertEquals(store.list().pending.length, 0);
  assert(!store.list().keys.some((k) => k.id === "imk-2"));
  await Deno.remove(home, { recursive: true });
});

Deno.test("export under a KEK (D for AES, B for TDES) and import back; dual control and exportability enforced", async () => {
  const { home, store } = await fresh();
  await store.generate({ id: "kek-aes", usage: "kek", algorithm: "aes" });
  await store.generate({ id: "kek-tdes", usage: "kek", algorithm: "3des", length: 24 });
  await store.importDev({
    keys: [{
      id: "imk",
      usage: "imk-ac",
      algorithm: "3des",
      issuer: "621234",
      dki: "01",
      value: IMK,
      kcv: "08D7B4",
      exportable: true,
    }],
  });
  await store.generate({ id: "secret", usage: "imk-ac", algorithm: "3des", issuer: "621234" });
  assertEquals(await code(store.exportBlock("imk", "kek-aes", ["alice"])), "DUAL_CONTROL");
  assertEquals(await code(store.exportBlock("imk", "kek-aes", ["alice", "alice"])), "DUAL_CONTROL");
  assertEquals(
    await code(store.exportBlock("secret", "kek-aes", ["alice", "bob"])),
    "KEY_NOT_EXPORTABLE",
  );
  for (const [kek, v] of [["kek-aes", "D"], ["kek-tdes", "B"]]) {
    const block = await store.exportBlock("imk", kek, ["alice", "bob"]);
    assertEquals(block[0], v);
    assertEquals(block.slice(5, 9), "E0TX");
    const kekKey = store.withKey(kek, (k) => k.slice());
    assertEquals(toHex(unwrap(kekKey, block).key), IMK);
    const back = await store.importBlock(block, kek, {
      id: `imk-back-${v}`,
      usage: "imk-ac",
      issuer: "621234",
      dki: "01",
      expectKcv: "08D7B4",
    });
    assertEquals(back.kcv, "08D7B4");
    // Usage must match the block's header.
    assertEquals(
      await code(store.importBlock(block, kek, { id: "x", usage: "imk-mac", issuer: "621234" })),
      "USAGE_MISMATCH",
    );
    // A tampered block is refused with the TR-31 code.
    const bad = block.slice(0, 20) + (block[20] === "0" ? "1" : "0") + block.slice(21);
    assertEquals(
      await code(store.importBlock(bad, kek, { id: "y", usage: "imk-ac", issuer: "621234" })),
      "TR31_MAC_MISMATCH",
    );
  }
  // A 2-key TDES KEK is weaker than an AES-256 key.
  await store.generate({ id: "kek-2k", usage: "kek", algorithm: "3des" });
  await store.generate({ id: "data-1", usage: "data", algorithm: "aes", exportable: true });
  assertEquals(await code(store.exportBlock("data-1", "kek-2k", ["a", "b"])), "KEK_TOO_WEAK");
  await Deno.remove(home, { recursive: true });
});

Deno.test("rotate-master: every key usable, every KCV unchanged, old master locked out", async () => {
  const { home, master, store } = await fresh();
  await store.importDev({
    keys: [{
      id: "imk",
      usage: "imk-ac",
      algorithm: "3des",
      issuer: "621234",
      dki: "01",
      value: IMK,
      kcv: "08D7B4",
    }],
  });
  await store.generate({ id: "ph", usage: "pan-hash", algorithm: "hmac-sha256" });
  await store.generate({ id: "kek", usage: "kek", algorithm: "aes" });
  await store.terminalAdd("LC000123");
  const c1 = crypto.getRandomValues(new Uint8Array(16));
  await store.componentAdd(
    { id: "pend", usage: "imk-mac", algorithm: "3des", issuer: "621234", parts: 2 },
    "alice",
    c1,
    kcv("3des", c1),
  );
  const before = store.list().keys.map((k) => [k.id, k.kcv]);
  const oldBlocks = JSON.parse(await Deno.readTextFile(keyStorePaths(home).store)).keys.map((
    k: { block: string },
  ) => k.block);
  const newMaster = crypto.getRandomValues(new Uint8Array(32));
  const r = await store.rotateMaster(newMaster);
  assertEquals(r.keys, before.length);
  assertEquals(await code(KeyStore.open(home, master)), "WRONG_MASTER_KEY");
  const reopened = await KeyStore.open(home, newMaster);
  assertEquals(reopened.list().keys.map((k) => [k.id, k.kcv]), before);
  for (const k of reopened.list().keys) {
    reopened.withKey(k.id, (v) => assertEquals(kcv(k.algorithm, v), k.kcv));
  }
  const newBlocks = JSON.parse(await Deno.readTextFile(keyStorePaths(home).store)).keys.map((
    k: { block: string },
  ) => k.block);
  for (const b of newBlocks) {
    assertEquals(await code(Promise.resolve().then(() => unwrap(master, b))), "TR31_MAC_MISMATCH");
  }
  for (const b of oldBlocks) assert(!newBlocks.includes(b));
  // The pending component survived and still combines.
  const c2 = crypto.getRandomValues(new Uint8Array(16));
  const done = await reopened.componentAdd(
    { id: "pend", usage: "imk-mac", algorithm: "3des", issuer: "621234", parts: 2 },
    "bob",
    c2,
    kcv("3des", c2),
  );
  const x = c1.map((b, i) => b ^ c2[i]);
  assertEquals(done.state === "active" && done.key.kcv, kcv("3des", x));
  assert((await reopened.verifyAudit()).ok);
  await Deno.remove(home, { recursive: true });
});

Deno.test("audit trail: every operation chained; edits, deletions and truncation are found", async () => {
  const { home, master, store } = await fresh();
  await store.generate({ id: "a", usage: "pan-hash", algorithm: "hmac-sha256" });
  await store.generate({ id: "b", usage: "denylist-sign", algorithm: "hmac-sha256" });
  await assertRejects(() =>
    store.generate({ id: "a", usage: "pan-hash", algorithm: "hmac-sha256" })
  );
  await store.retire("b");
  const v = await store.verifyAudit();
  assert(v.ok, JSON.stringify(v.problem));
  assertEquals(v.entries, 6); // init, table key, generate, generate, refused generate, retire
  const path = keyStorePaths(home).audit;
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  const ops = lines.map((l) => JSON.parse(l));
  assertEquals(ops.map((o) => [o.op, o.result]), [
    ["keystore.init", "ok"],
    ["keystore.init", "ok"], // the terminal table key, made with the store
    ["keys.generate", "ok"],
    ["keys.generate", "ok"],
    ["keys.generate", "refused"],
    ["keys.retire", "ok"],
  ]);
  assert(ops.every((o) => o.actor === "tester"));
  assertEquals(ops[1].keyId, "icfare:terminal-table");
  assertEquals(ops[2].kcv, officerKeys(store)[0].kcv);
  const anchor = JSON.parse(await Deno.readTextFile(keyStorePaths(home).store)).auditHead;
  // Edit one field.
  await Deno.writeTextFile(
    path,
    lines.map((l, i) => i === 2 ? l.replace('"tester"', '"mallory"') : l).join("\n") + "\n",
  );
  assertEquals((await verifyAudit(path, anchor)).problem?.line, 3);
  // Delete a line.
  await Deno.writeTextFile(path, lines.filter((_, i) => i !== 1).join("\n") + "\n");
  assertEquals((await verifyAudit(path, anchor)).ok, false);
  // Truncate the tail: the chain is intact but the store's anchor is missing.
  await Deno.writeTextFile(path, lines.slice(0, 3).join("\n") + "\n");
  const t = await verifyAudit(path, anchor);
  assertEquals(t.ok, false);
  assert(t.problem!.message.includes("truncated"));
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  assert((await (await KeyStore.open(home, master)).verifyAudit()).ok);
  await Deno.remove(home, { recursive: true });
});

Deno.test("terminals: key shown once, lookup gives a working HMAC key, rotate and disable", async () => {
  const { home, store } = await fresh();
  const t = await store.terminalAdd("LC000123");
  assertEquals(t.keyHex.length, 64);
  assertEquals(t.kcv, kcv("hmac-sha256", fromHex(t.keyHex)));
  assertEquals(await code(store.terminalAdd("LC000123")), "TERMINAL_EXISTS");
  assertEquals(await code(store.terminalAdd("bad")), "BAD_INPUT");
  const lookup = store.terminalKeys();
  const ck = (await lookup.hmacKey("LC000123"))!;
  const msg = new TextEncoder().encode("POST\n/v1/batches\n1\nabc");
  const raw = await crypto.subtle.importKey(
    "raw",
    fromHex(t.keyHex) as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  assertEquals(
    toHex(new Uint8Array(await crypto.subtle.sign("HMAC", ck, msg))),
    toHex(new Uint8Array(await crypto.subtle.sign("HMAC", raw, msg))),
  );
  assertEquals(ck.extractable, false);
  assertEquals(await lookup.hmacKey("LC999999"), null);
  const r = await store.terminalRotate("LC000123");
  assert(r.keyHex !== t.keyHex);
  assertEquals(r.terminal.keyVersion, 2);
  const ck2 = (await store.terminalKeys().hmacKey("LC000123"))!;
  assert(
    toHex(new Uint8Array(await crypto.subtle.sign("HMAC", ck2, msg))) !==
      toHex(new Uint8Array(await crypto.subtle.sign("HMAC", raw, msg))),
  );
  await store.terminalDisable("LC000123");
  assertEquals(await store.terminalKeys().hmacKey("LC000123"), null);
  assertEquals(store.terminalList()[0].state, "disabled");
  await Deno.remove(home, { recursive: true });
});

Deno.test("CAPK: checksum verified, an expired key imported and marked (UnionPay index 08), revoke", async () => {
  const { home, store } = await fresh();
  const up08 = {
    rid: "A000000333",
    index: "08",
    algorithm: "rsa",
    modulus: UP08_MODULUS,
    exponent: "03",
    expiry: "2030-12-31",
    checksum: "EE23B616C95C02652AD18860E48787C079E8E85A",
  };
  assertEquals(
    await code(
      importCapks(store, {
        capks: [{ ...up08, checksum: "EE23B616C95C02652AD18860E48787C079E8E85B" }],
      }),
    ),
    "CAPK_CHECKSUM",
  );
  assertEquals(store.capkList().length, 0);
  // Expired on the day of import: stored (archives re-verify old taps), marked.
  const [old] = await importCapks(store, { capks: [{ ...up08, expiry: "2020-12-31" }] }, {
    today: "2026-11-27",
  });
  assertEquals(old.notes, ["expired on 2020-12-31"]);
  await importCapks(store, { capks: [up08] }, { today: "2026-11-27" });
  assertEquals(store.capkList()[0].expiry, "2030-12-31");
  const src = capkSource(store);
  assertEquals(toHex(src.capk("a000000333", "08")!.modulus!), UP08_MODULUS);
  await store.capkRevoke("A000000333", "08", "123456");
  assert(capkSource(store).isRevoked("A000000333", "08", "123456"));
  await store.capkRevoke("A000000333", "08");
  assertEquals(capkSource(store).capk("A000000333", "08"), undefined);
  assertEquals(store.capkList()[0].state, "revoked");
  await Deno.remove(home, { recursive: true });
});

Deno.test("concurrent writers through two handles lose no update; the chain stays intact", async () => {
  const { home, master, store } = await fresh();
  const other = await KeyStore.open(home, master, "other");
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      (i % 2 ? store : other).generate({
        id: `k${i}`,
        usage: "pan-hash",
        algorithm: "hmac-sha256",
      })),
  );
  const reopened = await KeyStore.open(home, master);
  assertEquals(
    officerKeys(reopened).map((k) => k.id).sort(),
    Array.from({ length: 12 }, (_, i) => `k${i}`).sort(),
  );
  const v = await reopened.verifyAudit();
  assert(v.ok, JSON.stringify(v.problem));
  assertEquals(v.entries, 14);
  // A temp file left by a crash before the rename changes nothing.
  await Deno.writeTextFile(keyStorePaths(home).store + ".tmp-1-deadbeef", "{");
  assertEquals(officerKeys(await KeyStore.open(home, master)).length, 12);
  await Deno.remove(home, { recursive: true });
});

Deno.test("engine source: IMK-AC keys reach the verification engine's interfaces", async () => {
  const { home, store } = await fresh();
  await store.importDev({
    keys: [
      {
        id: "imk",
        usage: "imk-ac",
        algorithm: "3des",
        issuer: "621234",
        dki: "01",
        value: IMK,
        kcv: "08D7B4",
      },
      {
        id: "mac",
        usage: "imk-mac",
        algorithm: "3des",
        issuer: "621234",
        value: IMK,
        kcv: "08D7B4",
      },
      {
        id: "imk-aes",
        usage: "imk-ac",
        algorithm: "aes",
        issuer: "621235",
        value: "11".repeat(16),
        kcv: kcv("aes", fromHex("11".repeat(16))),
      },
    ],
  });
  const { issuerKeySource } = await import("./engine_source.ts");
  const s = issuerKeySource(store, { "621234": { profile: "pboc-cvn01-3des" } });
  assertEquals(s.loaded, 1);
  assertEquals(s.skipped, ["imk-aes"]);
  const k = s.source.imkAc("6212345678901234", "01", "3des")!;
  assertEquals([k.id, toHex(k.value), k.kcv], ["imk", IMK, "08D7B4"]);
  assertEquals(s.source.imkAc("6212345678901234", "01", "sm4"), undefined);
  assertEquals(s.source.issuerConfig("6212345678901234").profile, "pboc-cvn01-3des");
  // The engine derives the card's MK-AC from the store's key: the end-to-end vector of docs/emv-pboc.md, "Published test vectors".
  const { deriveIccMk } = await import("../emv/ac.ts");
  assertEquals(
    toHex(deriveIccMk("pboc-cvn01-3des", k.value, "6212345678901234", "01")),
    "D943A14951D0F48C1662D692E6977976",
  );
  s.wipe();
  assertEquals(toHex(k.value), "00".repeat(16));
  await Deno.remove(home, { recursive: true });
});

Deno.test("terminalAddMany: one write, one audit entry per terminal, all or nothing", async () => {
  const { home, master, store } = await fresh();
  const ids = Array.from({ length: 50 }, (_, i) => `LC${String(i).padStart(6, "0")}`);
  const r = await store.terminalAddMany(ids);
  assertEquals(r.length, 50);
  assertEquals(new Set(r.map((x) => x.keyHex)).size, 50);
  const ck = (await store.terminalKeys().hmacKey("LC000007"))!;
  const msg = new TextEncoder().encode("x");
  const raw = await crypto.subtle.importKey(
    "raw",
    fromHex(r[7].keyHex) as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  assertEquals(
    toHex(new Uint8Array(await crypto.subtle.sign("HMAC", ck, msg))),
    toHex(new Uint8Array(await crypto.subtle.sign("HMAC", raw, msg))),
  );
  assertEquals(await code(store.terminalAddMany(["LC900000", "LC000003"])), "TERMINAL_EXISTS");
  assertEquals(store.terminalList().length, 50);
  const v = await (await KeyStore.open(home, master)).verifyAudit();
  assert(v.ok, JSON.stringify(v.problem));
  assertEquals(v.entries, 2 + 50 + 1); // init (store, table key), 50 adds, the refusal
  await Deno.remove(home, { recursive: true });
});
