/**
 * The bare TCP echo the ISO 8583 benchmarks measure beside the link: a loopback server that
 * answers every request frame of `reqFrame` bytes with an answer frame of `ansFrame` bytes, and
 * a client connection (Nagle off on both ends, as the link). `round(n)` writes n frames and
 * reads the n answers: the network cost of n exchanges in flight, without ISO 8583.
 */
export async function startEcho(reqFrame: number, ansFrame: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    try {
      for await (const c of listener) {
        c.setNoDelay(true);
        (async () => {
          const answer = new Uint8Array(ansFrame), buf = new Uint8Array(65536);
          let pending = 0;
          try {
            while (true) {
              const n = await c.read(buf);
              if (n === null) break;
              for (pending += n; pending >= reqFrame; pending -= reqFrame) await c.write(answer);
            }
          } catch { /* closed */ }
        })();
      }
    } catch { /* listener closed */ }
  })();
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  return {
    /** `n` request frames out, then their `n` answers back. */
    async round(n: number): Promise<void> {
      const out = new Uint8Array(reqFrame * n);
      for (let o = 0; o < out.length;) o += await conn.write(out.subarray(o));
      for (let got = 0; got < ansFrame * n;) {
        const r = await conn.read(buf);
        if (r === null) throw new Error("echo closed");
        got += r;
      }
    },
    close(): void {
      for (const c of [conn, listener]) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}
