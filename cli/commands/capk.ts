/**
 * `icfare capk import FILE | list | revoke RID INDEX [--serial NNNNNN]` — CA public keys for
 * offline data authentication, kept in the key store (checksums and expiry verified).
 */
import { flag, parseArgs, UsageError } from "../args.ts";
import type { Command } from "../common.ts";
import { importCapks } from "../../core/keys/mod.ts";
import { COMMON, guarded, openStore, out, readJsonFile, table } from "../common.ts";

const HELP = `usage: icfare capk <subcommand> [options]

  import FILE [--allow-expired]   CA public keys ({"capks":[…]}, design.md §4); every
                                  checksum is verified (SHA-1 of RID‖index‖modulus‖exponent,
                                  or ‖x‖y for SM2) and nothing is stored if one fails;
                                  keys already expired are refused unless --allow-expired
  list                            RID, index, algorithm, size, expiry, checksum, state
  revoke RID INDEX                revoke a CA key
  revoke RID INDEX --serial HEX6  revoke one issuer certificate serial under that CA key
global: --home DIR, --json, --master-key-file PATH, --operator NAME (see icfare keys --help)`;

export const command: Command = {
  summary: "CA public keys: import (checksum and expiry verified), list, revoke",
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
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const json = flag(p, "json");
    const pos = p.positionals;
    return await guarded(json, `capk ${sub}`, async () => {
      switch (sub) {
        case "import": {
          if (pos.length !== 1) throw new UsageError("capk import FILE");
          const data = await readJsonFile(pos[0]);
          const s = await openStore(p);
          const recs = await importCapks(s, data, { allowExpired: flag(p, "allow-expired") });
          s.close();
          out(json, { ok: true, capks: recs }, () => [
            `imported ${recs.length} CA public key(s), every checksum verified:`,
            ...rows(recs),
          ]);
          return 0;
        }
        case "list": {
          const s = await openStore(p);
          const l = s.capkList();
          s.close();
          out(json, { capks: l }, () => rows(l));
          return 0;
        }
        case "revoke": {
          if (pos.length !== 2) throw new UsageError("capk revoke RID INDEX [--serial HEX6]");
          const s = await openStore(p);
          const serial = p.values.serial as string | undefined;
          const c = await s.capkRevoke(pos[0], pos[1], serial);
          s.close();
          out(json, { ok: true, capk: c }, () => [
            serial
              ? `revoked issuer certificate serial ${serial.toUpperCase()} under ${c.rid}/${c.index}`
              : `revoked CA public key ${c.rid}/${c.index}`,
          ]);
          return 0;
        }
      }
      throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
    });
  },
};

function rows(
  l: {
    rid: string;
    index: string;
    algorithm: string;
    modulus?: string;
    expiry: string;
    checksum: string;
    state: string;
    revokedSerials: string[];
  }[],
) {
  return table(
    ["rid", "index", "algorithm", "bits", "expiry", "checksum", "state", "revoked serials"],
    l.map((c) => [
      c.rid,
      c.index,
      c.algorithm,
      c.algorithm === "rsa" ? (c.modulus!.length / 2) * 8 : 256,
      c.expiry,
      c.checksum,
      c.state,
      c.revokedSerials.length ? c.revokedSerials.join(",") : undefined,
    ]),
  );
}
