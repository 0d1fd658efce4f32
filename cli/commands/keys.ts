/**
 * `icfare keys …` — the key store for security officers: init, generate, component add,
 * import (development JSON or TR-31 block), export as TR-31 block, list, kcv, retire,
 * rotate-master, audit. Key values are never printed: KCVs identify keys.
 *
 * Each subcommand is one row of `SUBS`: its options, its help lines and its handler.
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
  readInputText,
  readJsonFile,
  readSecretLine,
  table,
} from "../common.ts";
import {
  fileDelivery,
  type KeyAlgorithm,
  type KeyInfo,
  KeyStore,
  type KeyUsage,
  loadMasterKey,
  readAudit,
  USAGES,
} from "../../core/keys/mod.ts";

/** One subcommand: its options, its lines in the help, and what it does. */
interface Sub {
  options: OptionSpec;
  help: string;
  run(p: Parsed, json: boolean): Promise<number>;
}

const S = { type: "string" } as const;
const B = { type: "boolean" } as const;

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

/** The one positional argument `what` (e.g. `keys kcv ID`). */
function onePositional(p: Parsed, usage: string): string {
  if (p.positionals.length !== 1) throw new UsageError(usage);
  return p.positionals[0];
}

const KEY_HEAD = ["id", "usage", "algorithm", "issuer", "dki", "version", "kcv", "state"];

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

/** Opens the store, runs `fn`, closes the store (zeroing its master key) whatever happens. */
async function withStore<T>(p: Parsed, fn: (s: KeyStore) => Promise<T> | T): Promise<T> {
  const s = await openStore(p);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/**
 * Reads one custodian's component (hex) from standard input, up to Enter, never echoed (see
 * `readSecretLine`); spaces between groups of digits are allowed.
 */
async function readComponent(custodian: string, id: string): Promise<Uint8Array> {
  const raw = await readSecretLine(
    `custodian ${custodian}: type your component for ${id} (hex; nothing is shown), then Enter:`,
  );
  const hex = new Uint8Array(raw.length);
  let n = 0;
  for (const b of raw) if (b !== 0x20 && b !== 0x09) hex[n++] = b;
  raw.fill(0);
  try {
    if (n === 0 || n % 2 !== 0) {
      throw new UsageError(`component (standard input): ${n} hex digits; whole bytes expected`);
    }
    const out = new Uint8Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      const hi = hexValue(hex[2 * i]), lo = hexValue(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        out.fill(0);
        throw new UsageError("component (standard input): not hex");
      }
      out[i] = (hi << 4) | lo;
    }
    return out;
  } finally {
    hex.fill(0);
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

const KEY_SPEC: OptionSpec = {
  id: S,
  usage: S,
  algorithm: S,
  issuer: S,
  dki: S,
  exportable: B,
};

async function runInit(p: Parsed, json: boolean): Promise<number> {
  const home = homeOf(p);
  const m = await loadMasterKey(home, str(p, "master-key-file"));
  try {
    const s = await KeyStore.init(home, m.key, actorOf(p));
    out(json, { ok: true, home, masterKcv: s.masterKcv, masterFrom: m.source }, () => [
      `key store created in ${home}/keys (master key from ${m.source}, KCV ${s.masterKcv})`,
      "next: icfare init adds the service keys (pan-hash, card-data, deny-list signing)",
    ]);
    s.close();
  } finally {
    m.key.fill(0);
  }
  return 0;
}

async function runGenerate(p: Parsed, json: boolean): Promise<number> {
  const k = await withStore(p, (s) =>
    s.generate({
      id: need(p, "id"),
      usage: need(p, "usage") as KeyUsage,
      algorithm: need(p, "algorithm") as KeyAlgorithm,
      issuer: str(p, "issuer"),
      dki: str(p, "dki"),
      length: intOpt(p, "length"),
      version: intOpt(p, "key-version"),
      exportable: flag(p, "exportable"),
    }));
  out(json, { ok: true, key: k }, () => [
    `generated ${k.id}: ${k.usage} ${k.algorithm}, KCV ${k.kcv}`,
  ]);
  return 0;
}

async function runComponent(p: Parsed, json: boolean): Promise<number> {
  if (p.positionals[0] !== "add") {
    throw new UsageError(`keys component: only "add" (got "${p.positionals[0] ?? ""}")`);
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
  const component = await readComponent(custodian, spec.id);
  try {
    const r = await withStore(p, (s) => s.componentAdd(spec, custodian, component, componentKcv));
    out(json, { ok: true, ...r }, () =>
      r.state === "pending"
        ? [
          `component ${r.have} of ${r.need} for ${spec.id} accepted from ${custodian} (component KCV ${r.componentKcv})`,
          `the key is not active until all ${r.need} components are in`,
        ]
        : [
          `last component accepted from ${custodian} (component KCV ${r.componentKcv})`,
          `key ${r.key.id} is active: ${r.key.usage} ${r.key.algorithm}, combined KCV ${r.key.kcv}`,
        ]);
  } finally {
    component.fill(0);
  }
  return 0;
}

async function runImport(p: Parsed, json: boolean): Promise<number> {
  const block = str(p, "block");
  if (block !== undefined) {
    const text = await readInputText(block, "--block");
    const k = await withStore(p, (s) =>
      s.importBlock(text, need(p, "kek"), {
        id: need(p, "id"),
        usage: need(p, "usage") as KeyUsage,
        issuer: str(p, "issuer"),
        dki: str(p, "dki"),
        version: intOpt(p, "key-version"),
        expectKcv: str(p, "kcv"),
      }));
    out(json, { ok: true, key: k }, () => [
      `imported ${k.id} from a TR-31 block: ${k.usage} ${k.algorithm}, KCV ${k.kcv}`,
    ]);
    return 0;
  }
  const file = onePositional(p, "keys import FILE (or --block FILE --kek KEK …)");
  const data = await readJsonFile(file, "key file");
  const keys = await withStore(p, (s) => s.importDev(data));
  out(json, { ok: true, keys }, () => [
    `imported ${keys.length} key(s), every KCV checked:`,
    ...table(KEY_HEAD, keys.map(keyRow)),
  ]);
  return 0;
}

async function runExport(p: Parsed, json: boolean): Promise<number> {
  const id = onePositional(p, "keys export ID --under KEK");
  const officers = (p.values["authorized-by"] as string[] | undefined) ?? [];
  const under = need(p, "under");
  const file = str(p, "out");
  // The block is written before the export is recorded: a path that exists, is a directory
  // or cannot be written refuses the export (audited), and nothing says "exported".
  const deliver = file ? fileDelivery(file, "--out") : undefined;
  const block = await withStore(p, (s) => s.exportBlock(id, under, officers, { deliver }));
  out(
    json,
    { ok: true, id, under, block },
    () => file ? [`wrote the TR-31 block of ${id} to ${file}`] : [block],
  );
  return 0;
}

async function runList(p: Parsed, json: boolean): Promise<number> {
  const l = await withStore(p, (s) => s.list());
  const pending = l.pending.length
    ? [
      "",
      "waiting for components:",
      ...table(
        ["id", "usage", "algorithm", "issuer", "components", "custodians"],
        l.pending.map((x) => [
          x.id,
          x.usage,
          x.algorithm,
          x.issuer,
          `${x.have}/${x.parts}`,
          x.custodians.join(","),
        ]),
      ),
    ]
    : [];
  out(json, l, () => [...table(KEY_HEAD, l.keys.map(keyRow)), ...pending]);
  return 0;
}

async function runKcv(p: Parsed, json: boolean): Promise<number> {
  const id = onePositional(p, "keys kcv ID");
  const r = await withStore(p, (s) => s.checkKcv(id));
  out(json, { ok: true, ...r }, () => [`${r.id}: KCV ${r.kcv} (${r.method})`]);
  return 0;
}

async function runRetire(p: Parsed, json: boolean): Promise<number> {
  const id = onePositional(p, "keys retire ID");
  const k = await withStore(p, (s) => s.retire(id));
  out(json, { ok: true, key: k }, () => [`retired ${k.id} (KCV ${k.kcv})`]);
  return 0;
}

async function runRotateMaster(p: Parsed, json: boolean): Promise<number> {
  const nm = await loadMasterKey(
    homeOf(p),
    str(p, "new-master-key-file"),
    "ICFARE_NEW_MASTER_KEY",
    "--new-master-key-file",
  );
  try {
    const r = await withStore(
      p,
      async (s) => ({ old: s.masterKcv, ...await s.rotateMaster(nm.key) }),
    );
    out(json, { ok: true, keys: r.keys, oldMasterKcv: r.old, newMasterKcv: r.newKcv }, () => [
      `re-wrapped ${r.keys} key(s) under the new master key (KCV ${r.old} -> ${r.newKcv})`,
      `every KCV checked unchanged; the old master key no longer opens this store`,
    ]);
  } finally {
    nm.key.fill(0);
  }
  return 0;
}

async function runAudit(p: Parsed, json: boolean): Promise<number> {
  const v = await withStore(p, (s) => s.verifyAudit());
  const entries = flag(p, "show") ? await readAudit(homeOf(p)) : undefined;
  const shown = entries
    ? table(
      ["seq", "at", "actor", "op", "key", "kcv", "result", "detail"],
      entries.map((
        e,
      ) => [e.seq, e.at, e.actor, e.op, e.keyId, e.kcv, e.result, e.detail?.slice(0, 80)]),
    )
    : [];
  const ack = v.acknowledged;
  out(json, { ...v, log: entries }, () => [
    ...shown,
    ...(ack
      ? [
        `acknowledged by ${ack.by} at ${ack.at}: the break at line ${ack.problem.line} ` +
        `(${ack.problem.message}); reason: ${ack.reason}; lines 1-${ack.lines} are kept as they were`,
      ]
      : []),
    v.ok
      ? `audit trail intact${ack ? " since the acknowledgement" : ""}: ${v.entries} entries, ` +
        `head ${v.head.seq} ${v.head.hash.slice(0, 16)}…`
      : `AUDIT TRAIL BROKEN at line ${v.problem!.line}: ${v.problem!.message}; key operations ` +
        `are stopped until an officer runs: icfare keys audit-ack --reason TEXT`,
  ]);
  return v.ok ? 0 : 1;
}

async function runAuditAck(p: Parsed, json: boolean): Promise<number> {
  const reason = need(p, "reason");
  const v = await withStore(p, (s) => s.acknowledgeAudit(reason));
  out(json, v, () => [
    `break at line ${v.acknowledged!.problem.line} acknowledged by ${v.acknowledged!.by}; ` +
    `key operations go on (audit trail: ${v.entries} entries, head ${v.head.seq})`,
  ]);
  return v.ok ? 0 : 1;
}

/** The subcommands, in the order the help lists them. */
const SUBS: Record<string, Sub> = {
  init: {
    options: {},
    help: "init                                   create the key store in the home",
    run: runInit,
  },
  generate: {
    options: { ...KEY_SPEC, length: S, "key-version": S },
    help: `generate --id ID --usage U --algorithm A [--issuer BIN] [--dki NN] [--length N]
           [--key-version N] [--exportable]
                                         a new key from the cryptographic RNG`,
    run: runGenerate,
  },
  component: {
    options: { ...KEY_SPEC, parts: S, custodian: S, kcv: S, "combined-kcv": S },
    help: `component add --id ID --usage U --algorithm A [--issuer BIN] [--dki NN] --parts 2|3
           --custodian NAME --kcv HEX [--combined-kcv HEX] [--exportable]
                                         one custodian's component, read from standard
                                         input (hex); the key is active only when all
                                         parts are in`,
    run: runComponent,
  },
  import: {
    options: { block: S, kek: S, id: S, usage: S, issuer: S, dki: S, kcv: S, "key-version": S },
    help: `import FILE                            development key file (docs/cli.md), KCVs checked
  import --block FILE --kek KEK --id ID --usage U [--issuer BIN] [--dki NN] [--kcv HEX]
                                         a TR-31 key block (D or B) wrapped under KEK`,
    run: runImport,
  },
  export: {
    options: { under: S, "authorized-by": { type: "string", multiple: true }, out: S },
    help: `export ID --under KEK --authorized-by A --authorized-by B [--out FILE]
                                         the key as a TR-31 block under KEK (D for an AES
                                         KEK, B for TDES); two officers must authorise`,
    run: runExport,
  },
  list: {
    options: {},
    help: `list                                   keys with usage, algorithm, issuer, DKI, version,
                                         KCV and state (never values)`,
    run: runList,
  },
  kcv: {
    options: {},
    help: "kcv ID                                 unwrap in memory and show the KCV",
    run: runKcv,
  },
  retire: {
    options: {},
    help: "retire ID                              take a key out of use (kept for the record)",
    run: runRetire,
  },
  "rotate-master": {
    options: { "new-master-key-file": S },
    help: `rotate-master --new-master-key-file PATH   (or ICFARE_NEW_MASTER_KEY)
                                         re-wrap every key under a new master key`,
    run: runRotateMaster,
  },
  audit: {
    options: { show: B },
    help: "audit [--show]                         verify the audit trail's hash chain",
    run: runAudit,
  },
  "audit-ack": {
    options: { reason: S },
    help: `audit-ack --reason TEXT               an officer acknowledges a broken audit trail
                                         (key operations stop while it is broken); the
                                         log is kept as it is and the chain goes on`,
    run: runAuditAck,
  },
};

const HELP = `usage: icfare keys <subcommand> [options]

${Object.values(SUBS).map((s) => "  " + s.help).join("\n")}

usages: ${Object.keys(USAGES).join(", ")}
algorithms: 3des, sm4, aes, hmac-sha256, des
global: --home DIR (ICFARE_HOME, default ./.icfare), --json,
        --master-key-file PATH (else ICFARE_MASTER_KEY, 64 hex digits; never inside the home),
        --operator NAME (ICFARE_OPERATOR, else $USER) recorded in the audit trail
Exit codes: 0 done; 1 refused (code shown); 2 bad usage.`;

export const command: Command = {
  summary: "key store: init, generate, components, import, export (TR-31), list, rotate, audit",
  async run(args) {
    const [name, ...rest] = args;
    if (!name || name === "--help" || name === "-h") {
      console.log(HELP);
      return name ? 0 : 2;
    }
    const sub = Object.hasOwn(SUBS, name) ? SUBS[name] : undefined;
    if (!sub) throw new UsageError(`unknown subcommand "${name}"\n\n${HELP}`);
    const p = parseArgs(rest, { ...COMMON, ...sub.options });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const json = flag(p, "json");
    return await guarded(json, `keys ${name}`, () => sub.run(p, json));
  },
};
