/**
 * CA keys as operators receive them (issue 13 items 6 and 11; issue 14 item 4), on the real
 * UnionPay CA public keys (RID A000000333: RSA indices 01-04, 08-0B and the SM2 key, index 18)
 * copied from public POS terminal code into `fixtures/capk/` (each file says where from; every
 * RSA checksum was recomputed). Before this change `capk import` read icfare's JSON only,
 * refused a whole file for one expired key, and a re-import with another expiry reported the
 * new expiry while the store kept the old one.
 */
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { createHash } from "node:crypto";
import { fromHex } from "../core/hex.ts";
import {
  capkSource,
  importCapks,
  importCapkText,
  KeyStore,
  type KeyStoreError,
  readAudit,
} from "../core/keys/mod.ts";
import { icfareRun } from "./support/icfare_cli.ts";

const FIX = new URL("../fixtures/capk/", import.meta.url);
const fixture = (name: string) => Deno.readTextFile(new URL(name, FIX));
const TODAY = "2026-06-24";
const SM2_18 =
  "37710FEB7CC3617767874E85509C268E8F931D68773E93A89F39A4247DFE2D280FC5BC838353885B6DAD447C8F90116BD9D314047591989F67F319544D42A48B";
const UP08 =
  "B61645EDFD5498FB246444037A0FA18C0F101EBD8EFA54573CE6E6A7FBF63ED21D66340852B0211CF5EEF6A1CD989F66AF21A8EB19DBD8DBC3706D135363A0D683D046304F5A836BC1BC632821AFE7A2F75DA3C50AC74C545A754562204137169663CFCC0B06E67E2109EBA41BC67FF20CC8AC80D7B6EE1A95465B3B2657533EA56D92D539E5064360EA4850FED2D1BF";

async function fresh(): Promise<{ home: string; store: KeyStore }> {
  const home = await Deno.makeTempDir({ prefix: "icfare-capk-forms-" });
  return {
    home,
    store: await KeyStore.init(home, crypto.getRandomValues(new Uint8Array(32)), "t"),
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  return ((await assertRejects(() => p)) as KeyStoreError).code;
}

function byIndex(store: KeyStore) {
  return new Map(store.capkList().map((c) => [c.index, c]));
}

Deno.test("terminal TLV list: eight real UnionPay CA keys, ASCII and BCD expiries, expired ones marked", async () => {
  const { home, store } = await fresh();
  const r = await importCapkText(store, await fixture("unionpay-terminal-tlv.txt"), {
    today: TODAY,
  });
  assertEquals(
    r.source,
    "public POS terminal code, UnionPay CA key parameter lists (RID A000000333)",
  );
  assertEquals(r.keys.map((k) => k.index), ["01", "02", "03", "04", "08", "09", "0A", "0B"]);
  assert(r.keys.every((k) => k.form === "tlv" && k.action === "added"));
  const exp = Object.fromEntries(r.keys.map((k) => [k.index, [k.expiry, k.expired]]));
  assertEquals(exp["01"], ["2014-12-31", true]); // 8 ASCII digits, long expired: imported, marked
  assertEquals(exp["04"], ["2025-12-31", true]);
  assertEquals(exp["08"], ["2030-12-31", false]); // 4 BCD bytes
  assertEquals(exp["0B"], ["2030-12-31", false]);
  assertEquals(r.keys.find((k) => k.index === "01")!.notes, ["expired on 2014-12-31"]);
  // The engine takes every key (it checks each checksum again) — index 08 is the checksum vector of docs/emv-pboc.md, "CA public keys".
  const src = capkSource(store);
  assertEquals(src.capk("A000000333", "08")!.modulus!.length, 144);
  assertEquals(
    createHash("sha1").update(fromHex("A00000033308" + UP08 + "03")).digest("hex").toUpperCase(),
    store.capkList().find((c) => c.index === "08")!.checksum,
  );
  assertEquals(byIndex(store).get("0B")!.modulus!.length, 496); // 248 bytes
  store.close();
  await Deno.remove(home, { recursive: true });
});

Deno.test("variant lists: expiry updated with an audit entry, exponent 000003, zero and copied checksums, SM2 in RSA form", async () => {
  const { home, store } = await fresh();
  await importCapkText(store, await fixture("unionpay-terminal-tlv.txt"), { today: TODAY });
  const r = await importCapkText(store, await fixture("unionpay-variants-tlv.txt"), {
    today: TODAY,
  });
  const k = Object.fromEntries(r.keys.map((x) => [x.index, x]));
  // The same key with another expiry in another list: the store takes it, and says so.
  assertEquals(k["01"].action, "expiry-updated");
  assertEquals([k["01"].previousExpiry, k["01"].expiry], ["2014-12-31", "2009-12-31"]);
  assertEquals(byIndex(store).get("01")!.expiry, "2009-12-31");
  assertEquals([k["0B"].action, k["0B"].expiry], ["expiry-updated", "2031-12-22"]);
  assert(k["0B"].notes.includes("exponent 000003 has leading zero bytes: read as 03"));
  assertEquals(byIndex(store).get("0B")!.exponent, "03");
  assertEquals(k["0A"].expiry, "2040-12-31");
  assert(k["0A"].notes.includes("checksum given as 19 zero bytes: not checked"));
  // Index 18: a 64-byte "modulus" that is an SM2 point, a checksum copied from index 09.
  assertEquals([k["18"].algorithm, k["18"].action, k["18"].expiry], ["sm2", "added", "9999-12-31"]);
  assertEquals(k["18"].notes, [
    "expiry given as zeros: kept without one",
    "given as an RSA key with exponent, but it is a 64-byte SM2 point: taken as SM2",
    "checksum A075306E… is A000000333/09's, copied: not this key's",
  ]);
  assertEquals(byIndex(store).get("18")!.publicKey, SM2_18);
  const audit = (await readAudit(home)).filter((e) => e.op === "capk.import");
  assert(
    audit.some((e) => e.detail?.startsWith("CAPK A000000333/01 expiry 2014-12-31 -> 2009-12-31")),
    JSON.stringify(audit.map((e) => e.detail)),
  );
  assert((await store.verifyAudit()).ok);
  store.close();
  await Deno.remove(home, { recursive: true });
});

Deno.test("UnionPay's SM2 CA key form: DF37 expiry, DF39 kept, no checksum needed; form listed", async () => {
  const { home, store } = await fresh();
  const r = await importCapkText(store, await fixture("unionpay-sm2-form.txt"), { today: TODAY });
  assertEquals(r.keys.map((k) => [k.index, k.algorithm, k.form, k.expiry, k.action]), [
    ["18", "sm2", "unionpay-sm2", "2030-12-31", "added"],
  ]);
  const c = byIndex(store).get("18")!;
  assertEquals(c.publicKey, SM2_18);
  assertEquals(c.rootSignature!.slice(0, 16), "DBDA8F27CF839323");
  assertEquals(c.form, "unionpay-sm2");
  // icfare's own checksum is kept for the engine, which accepts the key.
  assertEquals(toHex40(capkSource(store).capk("A000000333", "18")!.checksum), c.checksum);
  // A point off the curve is refused, and nothing is stored.
  const off = (await fixture("unionpay-sm2-form.txt")).replace("D42A48B", "D42A48C");
  const { home: h2, store: s2 } = await fresh();
  assertEquals(await code(importCapkText(s2, off, { today: TODAY })), "CAPK_NOT_ON_CURVE");
  assertEquals(s2.capkList().length, 0);
  for (const s of [store, s2]) s.close();
  for (const h of [home, h2]) await Deno.remove(h, { recursive: true });
});

function toHex40(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();
}

Deno.test("plain list with a source note; a list without one is refused; JSON keeps its strict checksum", async () => {
  const { home, store } = await fresh();
  const line = (exp: string) =>
    `a0:00:00:03:33 08 ${exp} rsa 03 ${UP08.match(/../g)!.join(":")} sha1 ` +
    "EE23B616C95C02652AD18860E48787C079E8E85A";
  assertEquals(
    await code(importCapkText(store, line("301231") + "\n", { today: TODAY })),
    "BAD_INPUT",
  );
  const r = await importCapkText(store, line("301231") + "\n", {
    today: TODAY,
    source: "proxmark3-style list",
  });
  assertEquals(r.keys.map((k) => [k.index, k.form, k.expiry]), [["08", "list", "2030-12-31"]]);
  assertEquals(byIndex(store).get("08")!.source, "proxmark3-style list");
  // JSON: a wrong checksum refuses; another key under a present RID/index refuses too.
  const json = {
    capks: [{
      rid: "A000000333",
      index: "08",
      algorithm: "rsa",
      modulus: UP08,
      exponent: "03",
      expiry: "2030-12-31",
      checksum: "EE23B616C95C02652AD18860E48787C079E8E85B",
    }],
  };
  assertEquals(await code(importCapks(store, json, { today: TODAY })), "CAPK_CHECKSUM");
  const other = await importCapkText(store, await fixture("unionpay-terminal-tlv.txt"), {
    today: TODAY,
  });
  assertEquals(other.keys.find((k) => k.index === "08")!.action, "unchanged");
  const swapped = (await fixture("unionpay-terminal-tlv.txt")).replace(
    "9F220109DF05",
    "9F220108DF05",
  ).split("\n").filter((l) => !l.includes("9F220108DF0504")).join("\n");
  assertEquals(await code(importCapkText(store, swapped, { today: TODAY })), "CAPK_CONFLICT");
  store.close();
  await Deno.remove(home, { recursive: true });
});

Deno.test("CLI: capk import of a list with an expired key exits 0; re-import updates the expiry; list names the form", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-capk-cli-" });
  const env = {
    ICFARE_HOME: home,
    ICFARE_MASTER_KEY: "6B".repeat(32),
    ICFARE_OPERATOR: "officer",
  };
  const run = async (...args: string[]) => await icfareRun([...args, "--json"], { env });
  assertEquals((await run("keys", "init")).code, 0);
  const list = new URL("unionpay-terminal-tlv.txt", FIX).pathname;
  const a = await run("capk", "import", list);
  assertEquals(a.code, 0, a.stdout + a.stderr);
  assertEquals(JSON.parse(a.stdout).capks.length, 8);
  const json = `${home}/08.json`;
  const entry = {
    rid: "A000000333",
    index: "08",
    algorithm: "rsa",
    modulus: UP08,
    exponent: "03",
    expiry: "2035-06-30",
    checksum: "EE23B616C95C02652AD18860E48787C079E8E85A",
  };
  await Deno.writeTextFile(json, JSON.stringify({ capks: [entry] }));
  const b = await run("capk", "import", json);
  assertEquals(JSON.parse(b.stdout).capks[0].action, "expiry-updated");
  const l = JSON.parse((await run("capk", "list")).stdout).capks as {
    index: string;
    expiry: string;
    form: string;
    expired: boolean;
  }[];
  const c08 = l.find((c) => c.index === "08")!;
  assertEquals([c08.expiry, c08.form], ["2035-06-30", "json"]);
  assertEquals(l.find((c) => c.index === "01")!.expired, true);
  assertEquals(l.find((c) => c.index === "09")!.form, "tlv");
  await Deno.remove(home, { recursive: true });
});
