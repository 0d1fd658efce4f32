/**
 * `icfare tlv HEX | --file PATH | -` — decode chip data with the PBOC-aware dictionary.
 */
import { flag, parseArgs, str, UsageError } from "../args.ts";
import { type Command, readInputFile } from "../common.ts";
import { fromHex } from "../../core/hex.ts";
import { parseTlv } from "../../core/tlv/tree.ts";
import { renderTree, treeToJson } from "../../core/tlv/render.ts";

const HELP = `usage: icfare tlv [HEX | --file PATH | -] [--binary] [--json]

Decodes BER-TLV chip data (field 55 style) into a tree with tag names, formats and decoded
values (amounts in yuan, dates, bit fields spelled out). PANs and track 2 are masked.
  HEX            the data as hex (spaces allowed)
  --file PATH    read hex text from a file (or raw bytes with --binary)
  -              read hex text from standard input
  --json         machine output
Exit codes: 0 decoded; 1 malformed TLV (message names the offset); 2 bad usage, bad hex,
empty input, or a file that cannot be read (one coded line: FILE_NOT_FOUND, IS_A_DIRECTORY, …).`;

/** Standard input to its end. */
async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of Deno.stdin.readable) chunks.push(c);
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) (all.set(c, o), o += c.length);
  return all;
}

/** The chip data from the argument, a file or standard input; empty input is a usage error. */
async function readInput(
  positional: string | undefined,
  file: string | undefined,
  binary: boolean,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (file !== undefined) {
    const raw = await readInputFile(file, "--file");
    bytes = binary ? raw : fromHex(new TextDecoder().decode(raw), `file ${file}`);
  } else if (positional === "-" || positional === undefined) {
    if (positional === undefined && Deno.stdin.isTerminal()) throw new UsageError(HELP);
    const all = await readStdin();
    bytes = binary ? all : fromHex(new TextDecoder().decode(all), "standard input");
  } else bytes = fromHex(positional, "HEX argument");
  if (bytes.length === 0) throw new UsageError("no chip data: the input is empty", "EMPTY_INPUT");
  return bytes;
}

export const command: Command = {
  summary: "decode chip data (BER-TLV) with a PBOC-aware dictionary",
  async run(args) {
    const p = parseArgs(args, {
      file: { type: "string" },
      binary: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      home: { type: "string" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length > 1) throw new UsageError("give one HEX argument (quote spaces)");
    const json = flag(p, "json");
    let bytes: Uint8Array;
    try {
      bytes = await readInput(p.positionals[0], str(p, "file"), flag(p, "binary"));
    } catch (e) {
      if (e instanceof SyntaxError) throw new UsageError(e.message, "BAD_HEX");
      throw e;
    }
    const r = parseTlv(bytes);
    if (!r.ok) {
      if (json) {
        console.log(
          JSON.stringify({
            ok: false,
            error: { code: r.code, offset: r.offset, message: r.message },
          }),
        );
      } else console.error(`icfare tlv: ${r.message} [${r.code}]`);
      return 1;
    }
    if (json) {
      console.log(
        JSON.stringify({ ok: true, length: bytes.length, objects: treeToJson(r.nodes) }, null, 2),
      );
    } else console.log(renderTree(r.nodes).join("\n"));
    return 0;
  },
};
