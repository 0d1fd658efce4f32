/**
 * Command-line parsing. The design names `@std/cli`, but JSR is unreachable from our
 * machines, so this wraps Deno's built-in `node:util` `parseArgs` (strict: unknown options
 * are errors) behind the one function every command uses.
 */
import { parseArgs as nodeParseArgs } from "node:util";
import { IcfareError } from "../core/errors.ts";

export type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }
>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/**
 * Thrown for bad command lines and input files that cannot be used; the CLI prints the message
 * (with the code) and exits with code 2. `code` is `USAGE` unless a more precise one applies
 * (e.g. `FILE_NOT_FOUND` for a named input file that is not there).
 */
export class UsageError extends IcfareError {
  constructor(message: string, code = "USAGE") {
    super(code, message);
    this.name = "UsageError";
  }
}

export function parseArgs(args: string[], options: OptionSpec): Parsed {
  try {
    const r = nodeParseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}
