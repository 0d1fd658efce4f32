import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../hex.ts";
import { aesCmac } from "./aes.ts";
import { kcv, type KeyAlgorithm } from "./kcv.ts";
import { deriveKeysForTest, parseBlock, Tr31Error, type Tr31Header, unwrap, wrap } from "./tr31.ts";

interface Vector {
  name: string;
  kbpk: string;
  block: string;
  key: string;
  keyAlgorithm: KeyAlgorithm;
  kcv: string;
  padding?: string;
  maskedKeyLength?: number;
  header: Omit<Tr31Header, "version" | "optionalBlocks">;
  optionalBlocks?: { id: string; data: string }[];
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../../fixtures/vectors/tr31.json", import.meta.url)),
) as { vectors: Vector[] };

for (const v of fixture.vectors) {
  Deno.test(`TR-31 unwrap: ${v.name}`, () => {
    const r = unwrap(fromHex(v.kbpk), v.block);
    assertEquals(toHex(r.key), v.key);
    assertEquals(kcv(v.keyAlgorithm, r.key), v.kcv);
    assertEquals(r.header.version, v.block[0]);
    assertEquals(r.header.usage, v.header.usage);
    assertEquals(r.header.algorithm, v.header.algorithm);
    assertEquals(r.header.modeOfUse, v.header.modeOfUse);
    assertEquals(r.header.keyVersion, v.header.keyVersion);
    assertEquals(r.header.exportability, v.header.exportability);
    assertEquals(r.header.optionalBlocks, v.optionalBlocks ?? []);
  });

  Deno.test(`TR-31 tampering refused: ${v.name}`, () => {
    const kbpk = fromHex(v.kbpk);
    const headerEnd = parseBlock(v.block).headerText.length;
    // Flip one bit in every character position of header, payload and MAC.
    for (let i = 0; i < v.block.length; i++) {
      if (i >= 1 && i <= 4) continue; // the length field is checked before the MAC
      const c = v.block.charCodeAt(i);
      const flipped = String.fromCharCode(
        /[0-9A-F]/.test(v.block[i]) && i >= 16
          ? "0123456789ABCDEF".charCodeAt("0123456789ABCDEF".indexOf(v.block[i]) ^ 1)
          : c ^ 1,
      );
      const bad = v.block.slice(0, i) + flipped + v.block.slice(i + 1);
      const e = assertThrows(() => unwrap(kbpk, bad), Tr31Error) as Tr31Error;
      assert(
        ["TR31_MAC_MISMATCH", "TR31_MALFORMED", "TR31_VERSION_UNSUPPORTED"].includes(e.code),
        `position ${i}: ${e.code}`,
      );
      // Past the header's structure fields, every change is caught by the MAC.
      if (i >= headerEnd || (i >= 5 && i < 12)) {
        assertEquals(e.code, "TR31_MAC_MISMATCH", `position ${i}`);
      }
    }
    // A wrong KBPK is a MAC failure too.
    const wrong = kbpk.slice();
    wrong[0] ^= 0x02; // not the DES parity bit
    const e = assertThrows(() => unwrap(wrong, v.block), Tr31Error) as Tr31Error;
    assertEquals(e.code, "TR31_MAC_MISMATCH");
  });
}

Deno.test("TR-31 A.7.4: wrap with the published padding reproduces the block byte for byte", () => {
  const v = fixture.vectors.find((x) => x.padding)!;
  const block = wrap(
    fromHex(v.kbpk),
    { version: "D", ...v.header, optionalBlocks: [] },
    fromHex(v.key),
    { padding: fromHex(v.padding!), maskedKeyLength: v.maskedKeyLength },
  );
  assertEquals(block, v.block);
});

Deno.test("TR-31 wrap/unwrap round trips for D and B, every key length, with optional blocks", () => {
  const kbpks = [
    ["D", 16],
    ["D", 24],
    ["D", 32],
    ["B", 16],
    ["B", 24],
  ] as const;
  for (const [version, kl] of kbpks) {
    const kbpk = crypto.getRandomValues(new Uint8Array(kl));
    for (const n of [8, 16, 24, 32]) {
      for (
        const blocks of [[], [{ id: "10", data: "id=imk-1;use=imk-ac" }], [
          { id: "KS", data: "00604B120F9292800000" },
          { id: "11", data: "x" },
        ]]
      ) {
        const key = crypto.getRandomValues(new Uint8Array(n));
        const h: Tr31Header = {
          version,
          usage: "E0",
          algorithm: "T",
          modeOfUse: "X",
          keyVersion: "01",
          exportability: "N",
          optionalBlocks: blocks,
        };
        const block = wrap(kbpk, h, key, { maskedKeyLength: 32 });
        const p = parseBlock(block);
        assertEquals(p.headerText.length % (version === "D" ? 16 : 8), 0);
        const r = unwrap(kbpk, block);
        assertEquals(toHex(r.key), toHex(key));
        assertEquals(r.header, h);
        // Masked length: every key length gives the same block length.
        assertEquals(block.length, wrap(kbpk, h, new Uint8Array(32).fill(1), {}).length);
      }
    }
  }
});

Deno.test("TR-31 refuses versions A and C, bad lengths and a wrong KBPK type, with codes", () => {
  const code = (f: () => unknown) => (assertThrows(f, Tr31Error) as Tr31Error).code;
  assertEquals(
    code(() =>
      unwrap(
        new Uint8Array(16),
        "A0072P0TE00E0000F5161ED902807AF26F1D62263644BD24192FDB3193C730301CEE8701",
      )
    ),
    "TR31_VERSION_UNSUPPORTED",
  );
  const v = fixture.vectors[0];
  assertEquals(code(() => unwrap(fromHex(v.kbpk), v.block + "00")), "TR31_LENGTH_MISMATCH");
  assertEquals(code(() => unwrap(new Uint8Array(20), v.block)), "TR31_KBPK_INVALID");
  assertEquals(code(() => unwrap(fromHex(v.kbpk), "D0016P0AE00E0000")), "TR31_MALFORMED");
  assertEquals(
    code(() =>
      wrap(fromHex(v.kbpk), {
        version: "D",
        usage: "ZZ",
        algorithm: "A",
        modeOfUse: "E",
        keyVersion: "00",
        exportability: "E",
        optionalBlocks: [],
      }, new Uint8Array(16))
    ),
    "TR31_HEADER_INVALID",
  );
});

Deno.test("TR-31 is lenient on import: lower-case hex and surrounding whitespace", () => {
  const v = fixture.vectors[0];
  const lower = v.block.slice(0, 16) + v.block.slice(16).toLowerCase();
  assertEquals(toHex(unwrap(fromHex(v.kbpk), `  ${lower}\n`).key), v.key);
});

Deno.test("AES-CMAC: RFC 4493 vectors", () => {
  const k = fromHex("2B7E151628AED2A6ABF7158809CF4F3C");
  assertEquals(toHex(aesCmac(k, new Uint8Array(0))), "BB1D6929E95937287FA37D129B756746");
  assertEquals(
    toHex(aesCmac(k, fromHex("6BC1BEE22E409F96E93D7E117393172A"))),
    "070A16B46B4D4144F79BDD9DD04A287C",
  );
  assertEquals(
    toHex(
      aesCmac(
        k,
        fromHex("6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411"),
      ),
    ),
    "DFA66747DE9AE63030CA32611497C827",
  );
});

/** Runs `openssl mac … CMAC` on data (an independent implementation); null without openssl. */
async function opensslCmac(cipher: string, key: Uint8Array, data: Uint8Array) {
  try {
    const p = new Deno.Command("openssl", {
      args: ["mac", "-cipher", cipher, "-macopt", `hexkey:${toHex(key)}`, "CMAC"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(data);
    await w.close();
    const o = await p.output();
    return o.success ? new TextDecoder().decode(o.stdout).trim() : null;
  } catch {
    return null;
  }
}

Deno.test("version D key derivation agrees with the OpenSSL CLI's CMAC", async () => {
  for (const n of [16, 32]) {
    const kbpk = crypto.getRandomValues(new Uint8Array(n));
    const [kbek, kbmk] = deriveKeysForTest("D", kbpk);
    const cipher = n === 16 ? "AES-128-CBC" : "AES-256-CBC";
    const algo = n === 16 ? 2 : 4;
    let e = "", m = "";
    for (let c = 1; c <= n / 16; c++) {
      const de = await opensslCmac(
        cipher,
        kbpk,
        Uint8Array.of(c, 0, 0, 0, 0, algo, (n * 8) >> 8, (n * 8) & 255),
      );
      const dm = await opensslCmac(
        cipher,
        kbpk,
        Uint8Array.of(c, 0, 1, 0, 0, algo, (n * 8) >> 8, (n * 8) & 255),
      );
      if (de === null || dm === null) return; // no openssl on this machine
      e += de;
      m += dm;
    }
    assertEquals(kbek, e);
    assertEquals(kbmk, m);
  }
});

Deno.test("version B key derivation agrees with the OpenSSL CLI's TDES CMAC", async () => {
  const kbpk = crypto.getRandomValues(new Uint8Array(24));
  const [kbek, kbmk] = deriveKeysForTest("B", kbpk);
  let e = "", m = "";
  for (let c = 1; c <= 3; c++) {
    const de = await opensslCmac("DES-EDE3-CBC", kbpk, Uint8Array.of(c, 0, 0, 0, 0, 1, 0, 0xc0));
    const dm = await opensslCmac("DES-EDE3-CBC", kbpk, Uint8Array.of(c, 0, 1, 0, 0, 1, 0, 0xc0));
    if (de === null || dm === null) return;
    e += de;
    m += dm;
  }
  assertEquals(kbek, e);
  assertEquals(kbmk, m);
});

Deno.test("TR-31 fuzz: 20,000 mutated and random blocks end in a coded Tr31Error, never anything else", async () => {
  const fc = (await import("fast-check")).default;
  const v = fixture.vectors;
  const alphabet = "0123456789ABCDEFabcdefKPBDT \n";
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: v.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.nat()), {
        minLength: 1,
        maxLength: 4,
      }),
      (which, edits) => {
        let s = v[which].block;
        for (const [pos, kind, c] of edits) {
          const i = pos % (s.length + 1);
          const ch = alphabet[c % alphabet.length];
          if (kind === 0) s = s.slice(0, i) + ch + s.slice(i + 1);
          else if (kind === 1) s = s.slice(0, i) + ch + s.slice(i);
          else if (kind === 2) s = s.slice(0, i) + s.slice(i + 1);
          else s = s.slice(0, i);
        }
        try {
          const r = unwrap(fromHex(v[which].kbpk), s);
          // Only an edit that changed nothing the MAC covers may succeed (e.g. hex case).
          return toHex(r.key) === v[which].key;
        } catch (e) {
          return e instanceof Tr31Error;
        }
      },
    ),
    { numRuns: 10_000 },
  );
  fc.assert(
    fc.property(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      (s, k) => {
        try {
          unwrap(k, "D" + s);
          return false;
        } catch (e) {
          return e instanceof Tr31Error;
        }
      },
    ),
    { numRuns: 10_000 },
  );
});
