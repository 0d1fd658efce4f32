/**
 * A forger's tool for the audit tests: edits the content lines of an archive and stamps it
 * again — every index, seal and the head recomputed with the archive's own code — and signs
 * the head with whatever key it is given (the real one, to test what only the day links
 * catch; another one, to test the pinned signer).
 */
import {
  headBody,
  type HeaderLine,
  hexl,
  indexOf,
  type RecordLine,
  sealLine,
  ZERO_HASH,
} from "../../core/archive/format.ts";
import type { HeadSigner } from "../../core/archive/writer.ts";
import { signerFromPrivateKey } from "../../core/keys/signing.ts";

const enc = new TextEncoder();

/** The content lines of each segment (seals and head dropped). */
export function segmentsOf(text: string): string[][] {
  const segs: string[][] = [[]];
  for (const l of text.trimEnd().split("\n")) {
    if (l.startsWith('{"t":"S",')) segs.push([]);
    else if (!l.startsWith('{"t":"H",')) segs[segs.length - 1].push(l);
  }
  segs.pop();
  return segs;
}

/** Seals the segments again and signs a new head. */
export function stamp(segs: string[][], signer: HeadSigner): string {
  let prev = ZERO_HASH, out = "", lines = 0, records = 0;
  const header = JSON.parse(segs[0][0]) as HeaderLine;
  segs.forEach((content, seg) => {
    const recs = content.map((l) => JSON.parse(l)).filter((o) => o.t === "R") as RecordLine[];
    const isRecords = recs.length === content.length && recs.length > 0;
    const s = sealLine({
      seg,
      first: isRecords ? recs[0].n : 0,
      prev,
      lines: content.length,
      index: indexOf(content.map((c) => enc.encode(c)), isRecords ? recs : undefined),
    });
    out += content.join("\n") + "\n" + s.text + "\n";
    prev = s.hash;
    lines += content.length + 1;
    if (isRecords) records += recs.length;
  });
  const { body } = headBody({
    format: header.format,
    day: header.day,
    segments: segs.length,
    records,
    lines,
    last: prev,
    previous: header.previous,
    signer: { keyId: signer.keyId, algorithm: signer.algorithm, kcv: signer.kcv },
  });
  return out + `${body.slice(0, -1)},"sig":"${hexl(signer.sign(enc.encode(body)))}"}\n`;
}

/** Edits an archive's content with `edit` and stamps it again with `signer`. */
export function restamp(text: string, signer: HeadSigner, edit: (segs: string[][]) => void) {
  const segs = segmentsOf(text);
  edit(segs);
  return stamp(segs, signer);
}

/** A signing key nobody trusts, with the header line naming it instead of the real one. */
export function otherSigner(): { signer: HeadSigner; publicKey: string; kcv: string } {
  const s = signerFromPrivateKey(
    "archive-sign-1",
    "ecdsa-p256",
    crypto.getRandomValues(new Uint8Array(32)),
  );
  return {
    signer: { ...s.info, sign: (m) => s.sign(m) },
    publicKey: s.info.publicKey,
    kcv: s.info.kcv,
  };
}

/** Replaces the header's signer (segment 0, line 0) with `key`. */
export function withHeaderSigner(segs: string[][], key: { publicKey: string; kcv: string }) {
  const h = JSON.parse(segs[0][0]);
  h.signer = { ...h.signer, publicKey: key.publicKey, kcv: key.kcv };
  segs[0][0] = JSON.stringify(h);
}
