/**
 * Reading a secret line (a PAN to look up, a key component) from the person at the terminal:
 * the prompt goes to standard error, the typed characters are never echoed and never stay in
 * scrollback, input ends at Enter. When standard input is not a terminal (a pipe, a file), the
 * first line is read instead and nothing is prompted.
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The first line of a non-terminal standard input (without its line end). */
async function firstLine(): Promise<string> {
  const reader = Deno.stdin.readable.getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const r = await reader.read();
      if (r.done) break;
      text += dec.decode(r.value, { stream: true });
      if (text.length > 4096) break;
    }
  } finally {
    reader.releaseLock();
  }
  return text.split(/\r?\n/)[0];
}

/** Typed characters without echo, until Enter; Backspace edits; Ctrl-C or Ctrl-D abort (null). */
async function typedHidden(): Promise<string | null> {
  Deno.stdin.setRaw(true);
  const buf = new Uint8Array(64);
  let line = "";
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return null;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a) return line;
        if (b === 0x03 || b === 0x04) return null;
        if (b === 0x7f || b === 0x08) line = line.slice(0, -1);
        else if (b >= 0x20 && line.length < 4096) line += String.fromCharCode(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(enc.encode("\n"));
  }
}

/**
 * One line typed without echo after `prompt` (on a terminal), or the first line of standard
 * input (otherwise). Null when the person aborted or the input was empty.
 */
export async function readSecretLine(prompt: string): Promise<string | null> {
  if (!Deno.stdin.isTerminal()) {
    const l = await firstLine();
    return l === "" ? null : l;
  }
  Deno.stderr.writeSync(enc.encode(prompt));
  const l = await typedHidden();
  return l === "" ? null : l;
}
