/**
 * `icfare capk import FILE | list | revoke RID INDEX [--serial NNNNNN]` — CA public keys for
 * offline data authentication, kept in the key store (docs/keys.md, "CAPKs"): icfare's JSON,
 * terminal parameter TLV lists, UnionPay's SM2 CA key form and plain lists; every key checked,
 * every oddity of a list said per key, expired keys imported and marked.
 */
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import type { Command } from "../common.ts";
import {
  capkExpired,
  type CapkImportItem,
  type CapkRecord,
  importCapkText,
} from "../../core/keys/mod.ts";
import { COMMON, guarded, openStore, out, readInputText, table } from "../common.ts";

const HELP = `usage: icfare capk <subcommand> [options]

  import FILE [--source TEXT]     CA public keys in any of these forms:
                                    icfare JSON {"capks":[…]} (checksums must match);
                                    terminal parameter TLV, one record a line (9F06, 9F22,
                                    DF05, DF02, DF04, DF03) or JSON {"source","tlv":[…]};
                                    UnionPay's SM2 CA key form (DF37, DF38, DF39; no checksum);
                                    a plain list: RID INDEX YYMMDD rsa EXP MODULUS sha1 SUM.
                                  A list needs its source: a line "# source: …" or --source.
                                  Checksums of zeros or copied from another key, expiries as
                                  ASCII, BCD or zeros, duplicate entries: read, and noted per
                                  key. SM2 keys must be on the curve. Expired keys are
                                  imported and marked; a re-import with another expiry
                                  updates it (audited). --allow-expired is accepted (no-op).
  list                            RID, index, algorithm, size, expiry, form, checksum, state
  revoke RID INDEX                revoke a CA key
  revoke RID INDEX --serial HEX6  revoke one issuer certificate serial under that CA key
global: --home DIR, --json, --master-key-file PATH, --operator NAME (see icfare keys --help)`;

function importRows(keys: CapkImportItem[]) {
  return table(
    ["rid", "index", "algorithm", "form", "expiry", "stored", "notes"],
    keys.map((k) => [
      k.rid,
      k.index,
      k.algorithm,
      k.form,
      k.expiry + (k.expired ? " (expired)" : ""),
      k.action === "expiry-updated" ? `expiry updated (was ${k.previousExpiry})` : k.action,
      k.notes.length ? k.notes.join("; ") : undefined,
    ]),
  );
}

function listRows(l: CapkRecord[], today: string) {
  return table(
    ["rid", "index", "algorithm", "bits", "expiry", "form", "checksum", "state", "revoked serials"],
    l.map((c) => [
      c.rid,
      c.index,
      c.algorithm,
      c.algorithm === "rsa" ? (c.modulus!.length / 2) * 8 : 256,
      c.expiry + (capkExpired(c, today) ? " (expired)" : ""),
      (c.form ?? "json") + (c.source ? ` (${c.source})` : ""),
      c.form === "unionpay-sm2" ? `${c.checksum} (icfare's)` : c.checksum,
      c.state,
      c.revokedSerials.length ? c.revokedSerials.join(",") : undefined,
    ]),
  );
}

async function run(sub: string, p: Parsed, json: boolean): Promise<number> {
  const pos = p.positionals;
  const today = new Date().toISOString().slice(0, 10);
  if (sub === "import") {
    if (pos.length !== 1) throw new UsageError("capk import FILE [--source TEXT]");
    const text = await readInputText(pos[0], "CA key file");
    const s = await openStore(p);
    try {
      const r = await importCapkText(s, text, { source: str(p, "source"), name: pos[0] });
      out(json, { ok: true, source: r.source, capks: r.keys }, () => [
        `${r.keys.length} CA public key(s) checked${r.source ? ` (source: ${r.source})` : ""}:`,
        ...importRows(r.keys),
      ]);
    } finally {
      s.close();
    }
    return 0;
  }
  if (sub === "list") {
    const s = await openStore(p);
    const l = s.capkList();
    s.close();
    out(
      json,
      { capks: l.map((c) => ({ ...c, form: c.form ?? "json", expired: capkExpired(c, today) })) },
      () => listRows(l, today),
    );
    return 0;
  }
  if (sub === "revoke") {
    if (pos.length !== 2) throw new UsageError("capk revoke RID INDEX [--serial HEX6]");
    const s = await openStore(p);
    const serial = str(p, "serial");
    try {
      const c = await s.capkRevoke(pos[0], pos[1], serial);
      out(json, { ok: true, capk: c }, () => [
        serial
          ? `revoked issuer certificate serial ${serial.toUpperCase()} under ${c.rid}/${c.index}`
          : `revoked CA public key ${c.rid}/${c.index}`,
      ]);
    } finally {
      s.close();
    }
    return 0;
  }
  throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
}

export const command: Command = {
  summary: "CA public keys: import (JSON, TLV lists, UnionPay SM2 form), list, revoke",
  async run(args) {
    const [sub, ...rest] = args;
    if (!sub || sub === "--help" || sub === "-h") {
      console.log(HELP);
      return sub ? 0 : 2;
    }
    const p = parseArgs(rest, {
      ...COMMON,
      "allow-expired": { type: "boolean" },
      serial: { type: "string" },
      source: { type: "string" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const json = flag(p, "json");
    return await guarded(json, `capk ${sub}`, () => run(sub, p, json));
  },
};
