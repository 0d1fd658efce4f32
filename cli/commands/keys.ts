/**
 * `icfare keys …` — the key store for security officers: init, generate, component add,
 * import (development JSON or TR-31 block), export as TR-31 block, list, kcv, retire,
 * rotate-master, audit. Key values are never printed: KCVs identify keys.
 */
import { flag, type OptionSpec, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import {
  actorOf,
  type Command,
  COMMON,
  guarded,
  homeOf,
  openStore,
  out,
  readJsonFile,
  table,
} from "../common.ts";
import { fromHex } from "../../core/hex.ts";
import {
  type KeyAlgorithm,
  type KeyInfo,
  KeyStore,
  type KeyUsage,
  loadMasterKey,
  readAudit,
  USAGES,
} from "../../core/keys/mod.ts";

const HELP = `usage: icfare keys <subcommand> [options]

  init                                   create the key store in the home
  generate --id ID --usage U --algorithm A [--issuer BIN] [--dki NN] [--length N]
           [--key-version N] [--exportable]
                                         a new key from the cryptographic RNG
  component add --id ID --usage U --algorithm A [--issuer BIN] [--dki NN] --parts 2|3
           --custodian NAME --kcv HEX [--combined-kcv HEX] [--exportable]
                                         one custodian's component, read from standard
                                         input (hex); the key is active only when all
                                         parts are in
  import FILE                            development key file (design.md §4), KCVs checked
  import --block FILE --kek KEK --id ID --usage U [--issuer BIN] [--dki NN] [--kcv HEX]
                                         a TR-31 key block (D or B) wrapped under KEK
  export ID --under KEK --authorized-by A --authorized-by B [--out FILE]
                                         the key as a TR-31 block under KEK (D for an AES
                                         KEK, B for TDES); two officers must authorise
  list                                   keys with usage, algorithm, issuer, DKI, version,
                                         KCV and state (never values)
  kcv ID                                 unwrap in memory and show the KCV
  retire ID                              take a key out of use (kept for the record)
  rotate-master --new-master-key-file PATH   (or ICFARE_NEW_MASTER_KEY)
                                         re-wrap every key under a new master key
  audit [--show]                         verify the audit trail's hash chain

usages: ${Object.keys(USAGES).join(", ")}
algorithms: 3des, sm4, aes, hmac-sha256, des
global: --home DIR (ICFARE_HOME, default ./.icfare), --json,
        --master-key-file PATH (else ICFARE_MASTER_KEY, 64 hex digits; never inside the home),
        --operator NAME (ICFARE_OPERATOR, else $USER) recorded in the audit trail
Exit codes: 0 done; 1 refused (code shown); 2 bad usage.`;

function need(p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

function intOpt(p: Parsed, name: string): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`--${name}: a whole number, got "${v}"`);
  return Number(v);
}

function keyRow(k: KeyInfo) {
  return [
    k.id,
    k.usage,
    k.algorithm,
    k.issuer,
    k.dki,
    k.version,
    `${k.kcv} (${k.kcvMethod})`,
    k.state,
  ];
}

async function readStdinText(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const c of Deno.stdin.readable) chunks.push(c);
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) (all.set(c, o), o += c.length);
  const text = new TextDecoder().decode(all);
  all.fill(0);
  for (const c of chunks) c.fill(0);
  return text;
}

const SUBS: Record<string, OptionSpec> = {
  init: {},
  generate: {
    id: { type: "string" },
    usage: { type: "string" },
    algorithm: { type: "string" },
    issuer: { type: "string" },
    dki: { type: "string" },
    length: { type: "string" },
    "key-version": { type: "string" },
    exportable: { type: "boolean" },
  },
  component: {
    id: { type: "string" },
    usage: { type: "string" },
    algorithm: { type: "string" },
    issuer: { type: "string" },
    dki: { type: "string" },
    parts: { type: "string" },
    custodian: { type: "string" },
    kcv: { type: "string" },
    "combined-kcv": { type: "string" },
    exportable: { type: "boolean" },
  },
  import: {
    block: { type: "string" },
    kek: { type: "string" },
    id: { type: "string" },
    usage: { type: "string" },
    issuer: { type: "string" },
    dki: { type: "string" },
    kcv: { type: "string" },
    "key-version": { type: "string" },
  },
  export: {
    under: { type: "string" },
    "authorized-by": { type: "string", multiple: true },
    out: { type: "string" },
  },
  list: {},
  kcv: {},
  retire: {},
  "rotate-master": { "new-master-key-file": { type: "string" } },
  audit: { show: { type: "boolean" } },
};

export const command: Command = {
  summary: "key store: init, generate, components, import, export (TR-31), list, rotate, audit",
  async run(args) {
    const [sub, ...rest] = args;
    if (!sub || sub === "--help" || sub === "-h") {
      console.log(HELP);
      return sub ? 0 : 2;
    }
    const spec = SUBS[sub];
    if (!spec) throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
    const p = parseArgs(rest, { ...COMMON, ...spec });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const json = flag(p, "json");
    return await guarded(json, `keys ${sub}`, () => runSub(sub, p, json));
  },
};

async function runSub(sub: string, p: Parsed, json: boolean): Promise<number> {
  const pos = p.positionals;
  switch (sub) {
    case "init": {
      const home = homeOf(p);
      const m = await loadMasterKey(home, str(p, "master-key-file"));
      try {
        const s = await KeyStore.init(home, m.key, actorOf(p));
        out(json, { ok: true, home, masterKcv: s.masterKcv, masterFrom: m.source }, () => [
          `key store created in ${home}/keys (master key from ${m.source}, KCV ${s.masterKcv})`,
        ]);
        s.close();
      } finally {
        m.key.fill(0);
      }
      return 0;
    }
    case "generate": {
      const s = await openStore(p);
      const k = await s.generate({
        id: need(p, "id"),
        usage: need(p, "usage") as KeyUsage,
        algorithm: need(p, "algorithm") as KeyAlgorithm,
        issuer: str(p, "issuer"),
        dki: str(p, "dki"),
        length: intOpt(p, "length"),
        version: intOpt(p, "key-version"),
        exportable: flag(p, "exportable"),
      });
      s.close();
      out(
        json,
        { ok: true, key: k },
        () => [`generated ${k.id}: ${k.usage} ${k.algorithm}, KCV ${k.kcv}`],
      );
      return 0;
    }
    case "component": {
      if (pos[0] !== "add") {
        throw new UsageError(`keys component: only "add" (got "${pos[0] ?? ""}")`);
      }
      const parts = intOpt(p, "parts");
      if (parts === undefined) throw new UsageError("--parts is required (2 or 3)");
      const spec = {
        id: need(p, "id"),
        usage: need(p, "usage") as KeyUsage,
        algorithm: need(p, "algorithm") as KeyAlgorithm,
        issuer: str(p, "issuer"),
        dki: str(p, "dki"),
        parts,
        exportable: flag(p, "exportable"),
        combinedKcv: str(p, "combined-kcv"),
      };
      const custodian = need(p, "custodian");
      const componentKcv = need(p, "kcv");
      if (!json && Deno.stdin.isTerminal()) {
        console.error(
          `custodian ${custodian}: enter your component for ${spec.id} (hex), then Enter:`,
        );
      }
      const text = await readStdinText();
      const line = text.split("\n")[0].replace(/\s+/g, "");
      let component: Uint8Array;
      try {
        component = fromHex(line, "component (standard input)");
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const s = await openStore(p);
      try {
        const r = await s.componentAdd(spec, custodian, component, componentKcv);
        if (r.state === "pending") {
          out(json, { ok: true, ...r }, () => [
            `component ${r.have} of ${r.need} for ${spec.id} accepted from ${custodian} (component KCV ${r.componentKcv})`,
            `the key is not active until all ${r.need} components are in`,
          ]);
        } else {
          out(json, { ok: true, ...r }, () => [
            `last component accepted from ${custodian} (component KCV ${r.componentKcv})`,
            `key ${r.key.id} is active: ${r.key.usage} ${r.key.algorithm}, combined KCV ${r.key.kcv}`,
          ]);
        }
      } finally {
        component.fill(0);
        s.close();
      }
      return 0;
    }
    case "import": {
      const block = str(p, "block");
      const s = await openStore(p);
      try {
        if (block !== undefined) {
          const text = await Deno.readTextFile(block);
          const k = await s.importBlock(text, need(p, "kek"), {
            id: need(p, "id"),
            usage: need(p, "usage") as KeyUsage,
            issuer: str(p, "issuer"),
            dki: str(p, "dki"),
            version: intOpt(p, "key-version"),
            expectKcv: str(p, "kcv"),
          });
          out(json, { ok: true, key: k }, () => [
            `imported ${k.id} from a TR-31 block: ${k.usage} ${k.algorithm}, KCV ${k.kcv}`,
          ]);
          return 0;
        }
        if (pos.length !== 1) {
          throw new UsageError("keys import FILE (or --block FILE --kek KEK …)");
        }
        const data = await readJsonFile(pos[0]);
        const keys = await s.importDev(data);
        out(json, { ok: true, keys }, () => [
          `imported ${keys.length} key(s), every KCV checked:`,
          ...table(
            ["id", "usage", "algorithm", "issuer", "dki", "version", "kcv", "state"],
            keys.map(keyRow),
          ),
        ]);
        return 0;
      } finally {
        s.close();
      }
    }
    case "export": {
      if (pos.length !== 1) throw new UsageError("keys export ID --under KEK");
      const officers = (p.values["authorized-by"] as string[] | undefined) ?? [];
      const s = await openStore(p);
      try {
        const block = await s.exportBlock(pos[0], need(p, "under"), officers);
        const file = str(p, "out");
        if (file) await Deno.writeTextFile(file, block + "\n", { mode: 0o600 });
        out(
          json,
          { ok: true, id: pos[0], under: str(p, "under"), block },
          () => file ? [`wrote the TR-31 block of ${pos[0]} to ${file}`] : [block],
        );
      } finally {
        s.close();
      }
      return 0;
    }
    case "list": {
      const s = await openStore(p);
      const l = s.list();
      s.close();
      out(json, l, () => [
        ...table(
          ["id", "usage", "algorithm", "issuer", "dki", "version", "kcv", "state"],
          l.keys.map(keyRow),
        ),
        ...(l.pending.length
          ? [
            "",
            "waiting for components:",
            ...table(
              ["id", "usage", "algorithm", "issuer", "components", "custodians"],
              l.pending.map((
                x,
              ) => [
                x.id,
                x.usage,
                x.algorithm,
                x.issuer,
                `${x.have}/${x.parts}`,
                x.custodians.join(","),
              ]),
            ),
          ]
          : []),
      ]);
      return 0;
    }
    case "kcv": {
      if (pos.length !== 1) throw new UsageError("keys kcv ID");
      const s = await openStore(p);
      const r = await s.checkKcv(pos[0]);
      s.close();
      out(json, { ok: true, ...r }, () => [`${r.id}: KCV ${r.kcv} (${r.method})`]);
      return 0;
    }
    case "retire": {
      if (pos.length !== 1) throw new UsageError("keys retire ID");
      const s = await openStore(p);
      const k = await s.retire(pos[0]);
      s.close();
      out(json, { ok: true, key: k }, () => [`retired ${k.id} (KCV ${k.kcv})`]);
      return 0;
    }
    case "rotate-master": {
      const home = homeOf(p);
      const file = str(p, "new-master-key-file");
      const nm = await loadMasterKey(home, file, "ICFARE_NEW_MASTER_KEY");
      const s = await openStore(p);
      try {
        const old = s.masterKcv;
        const r = await s.rotateMaster(nm.key);
        out(json, { ok: true, keys: r.keys, oldMasterKcv: old, newMasterKcv: r.newKcv }, () => [
          `re-wrapped ${r.keys} key(s) under the new master key (KCV ${old} -> ${r.newKcv})`,
          `every KCV checked unchanged; the old master key no longer opens this store`,
        ]);
      } finally {
        nm.key.fill(0);
        s.close();
      }
      return 0;
    }
    case "audit": {
      const s = await openStore(p);
      const v = await s.verifyAudit();
      s.close();
      const entries = flag(p, "show") ? await readAudit(homeOf(p)) : undefined;
      out(json, { ...v, log: entries }, () => [
        ...(entries
          ? table(
            ["seq", "at", "actor", "op", "key", "kcv", "result", "detail"],
            entries.map((
              e,
            ) => [e.seq, e.at, e.actor, e.op, e.keyId, e.kcv, e.result, e.detail?.slice(0, 80)]),
          )
          : []),
        v.ok
          ? `audit trail intact: ${v.entries} entries, head ${v.head.seq} ${
            v.head.hash.slice(0, 16)
          }…`
          : `AUDIT TRAIL BROKEN at line ${v.problem!.line}: ${v.problem!.message}`,
      ]);
      return v.ok ? 0 : 1;
    }
  }
  throw new UsageError(`unknown subcommand "${sub}"`);
}
