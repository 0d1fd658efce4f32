/**
 * The head of an archive: its signature (SM2 through the kernel, ECDSA P-256 through
 * @noble/curves — checked with the public key alone), what it says against what was read,
 * the trusted signing keys, and the links between consecutive days.
 */
import { p256 } from "@noble/curves/nist.js";
import { sm2Verify } from "../../kernel-as/pk.ts";
import { fromHex } from "../hex.ts";
import type { HeaderLine, HeadLine } from "../archive/format.ts";
import { sha256Hex } from "../archive/format.ts";
import type { Findings } from "./findings.ts";
import type { ChainReader } from "./chain.ts";

const enc = new TextEncoder();

/** A signing key the auditor trusts: the public key (KCV derived from it). */
export interface TrustedSigner {
  readonly publicKey: string;
  readonly kcv: string;
}

/** True when `sig` (r ‖ s, hex) signs `message` under the public key `04 ‖ x ‖ y`. */
export function verifyHeadSignature(
  algorithm: string,
  publicKeyHex: string,
  message: string,
  sigHex: string,
): boolean {
  try {
    const pub = fromHex(publicKeyHex, "publicKey"), sig = fromHex(sigHex, "sig");
    if (pub.length !== 65 || pub[0] !== 4 || sig.length !== 64) return false;
    if (algorithm === "sm2") return sm2Verify(pub.subarray(1), enc.encode(message), sig);
    if (algorithm !== "ecdsa-p256") return false;
    return p256.verify(sig, enc.encode(message), pub, {
      prehash: true,
      lowS: false,
      format: "compact",
    });
  } catch {
    return false;
  }
}

/** A trusted signer from its public key (hex `04 ‖ x ‖ y`). */
export function trustedSigner(publicKeyHex: string): TrustedSigner {
  const pub = fromHex(publicKeyHex.trim(), "publicKey");
  if (pub.length !== 65 || pub[0] !== 4) {
    throw new RangeError("a signing public key is 65 bytes, 04 ‖ x ‖ y");
  }
  return {
    publicKey: publicKeyHex.trim().toUpperCase(),
    kcv: sha256Hex(pub).slice(0, 6).toUpperCase(),
  };
}

/** Checks the head against the reading and the signature; the head hash, or null. */
export function checkHead(
  f: Findings,
  chain: ChainReader,
  header: HeaderLine | null,
  records: number,
  trusted: readonly TrustedSigner[],
): string | null {
  const h = chain.head;
  if (!h) {
    f.add(
      "TRUNCATED",
      `no signed head: the archive ends after segment ${chain.segments - 1}` +
        (chain.pending ? ` and ${chain.pending} unsealed line(s)` : ""),
      { segment: chain.segments },
    );
    return null;
  }
  if (!h.body) return null;
  const said: [string, unknown, unknown][] = [
    ["segments", h.segments, chain.segments],
    ["records", h.records, records],
    ["lines", h.lines, chain.linesRead],
  ];
  for (const [what, head, read] of said) {
    if (head === read) continue;
    const short = typeof head === "number" && typeof read === "number" && head > read;
    f.add(
      short ? "TRUNCATED" : "HEAD_MISMATCH",
      `the head says ${head} ${what}; the archive holds ${read}` +
        (short ? ": truncated, or segments removed" : ""),
      { line: chain.headLine, field: `head.${what}` },
    );
  }
  if (h.last !== chain.last) {
    f.add(
      "HEAD_MISMATCH",
      `the head names last seal ${h.last}, the last seal read is ${chain.last}`,
      {
        line: chain.headLine,
        field: "head.last",
      },
    );
  }
  if (!header) return h.hash;
  if (h.day !== header.day || JSON.stringify(h.previous) !== JSON.stringify(header.previous)) {
    f.add("HEAD_MISMATCH", `the head's day or previous day differs from the header's`, {
      line: chain.headLine,
      field: "head.previous",
    });
  }
  const s = header.signer;
  if (h.signer?.kcv !== s.kcv || trustedSigner(s.publicKey).kcv !== s.kcv) {
    f.add(
      "SIGNER_UNEXPECTED",
      `the head names signer KCV ${h.signer?.kcv}; the header's key is ${s.kcv}`,
      {
        line: chain.headLine,
        field: "head.signer",
      },
    );
  }
  if (!verifyHeadSignature(s.algorithm, s.publicKey, h.body, h.sig)) {
    f.add(
      "SIGNATURE_INVALID",
      `the head's signature does not verify with ${s.keyId} (KCV ${s.kcv}, ${s.algorithm})`,
      { line: chain.headLine, field: "head.sig" },
    );
  }
  if (trusted.length === 0) {
    f.add(
      "NOT_CHECKED",
      `signed by ${s.keyId} (KCV ${s.kcv}); no trusted key was given to pin it (--signer)`,
      { field: "head.signer" },
    );
  } else if (!trusted.some((t) => t.publicKey === s.publicKey.toUpperCase())) {
    f.add(
      "SIGNER_UNEXPECTED",
      `signed by ${s.keyId} (KCV ${s.kcv}), not by the trusted key ` +
        trusted.map((t) => `KCV ${t.kcv}`).join(" or "),
      { line: chain.headLine, field: "head.signer" },
    );
  }
  return h.hash;
}

/** What the link check needs of each audited day. */
export interface DayLink {
  readonly day: string;
  readonly head: string | null;
  readonly previous: { day: string; head: string } | null;
  readonly signerKcv: string | null;
  readonly f: Findings;
}

/** Checks each day's link to the day before it among the audited days. */
export function checkLinks(days: readonly DayLink[]): void {
  const sorted = [...days].sort((a, b) => (a.day < b.day ? -1 : 1));
  sorted.forEach((d, i) => {
    const before = sorted[i - 1];
    if (!before) {
      if (d.previous) {
        d.f.add(
          "NOT_CHECKED",
          `the link to ${d.previous.day} (head ${d.previous.head.slice(0, 16)}…) was not ` +
            `checked: give that day's archive too`,
          { field: "header.previous" },
        );
      }
      return;
    }
    if (!d.previous || d.previous.day !== before.day || d.previous.head !== before.head) {
      d.f.add(
        "PREVIOUS_DAY_LINK",
        `${d.day} does not chain to ${before.day}: its link names ${
          d.previous ? `${d.previous.day} head ${d.previous.head.slice(0, 16)}…` : "no day"
        }, ${before.day}'s head is ${before.head?.slice(0, 16) ?? "missing"}…`,
        { field: "header.previous" },
      );
    }
    if (before.signerKcv && d.signerKcv && before.signerKcv !== d.signerKcv) {
      d.f.add(
        "NOT_CHECKED",
        `signed by KCV ${d.signerKcv}, ${before.day} by KCV ${before.signerKcv}: a key ` +
          `rotation, or a key to question (pin the keys with --signer)`,
        { field: "head.signer" },
      );
    }
  });
}

export type { HeadLine };
