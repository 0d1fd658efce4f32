/**
 * TLV trees over the kernel's zero-copy index. Values are subarrays of the input (no copy).
 */
import { decodeTlv, type TlvEntry, type TlvLimits } from "../../kernel-as/tlv.ts";

export interface TlvNode {
  /** Upper-case hex tag, e.g. "9F02". */
  readonly tag: string;
  readonly constructed: boolean;
  /** Offset of the tag's first byte in the decoded buffer. */
  readonly offset: number;
  /** The value bytes (a view into the decoded buffer). */
  readonly value: Uint8Array;
  /** Children of a constructed object, in order. */
  readonly children: TlvNode[];
}

export type TlvParseResult =
  | { readonly ok: true; readonly nodes: TlvNode[] }
  | {
    readonly ok: false;
    readonly code: string;
    readonly offset: number;
    readonly message: string;
  };

/** Hex form of a kernel tag number with its byte count. */
export function tagHex(tag: number, tagBytes: number): string {
  return tag.toString(16).toUpperCase().padStart(tagBytes * 2, "0");
}

/** Builds the tree from the flat index (entries come in pre-order with parent links). */
export function treeFromEntries(bytes: Uint8Array, entries: readonly TlvEntry[]): TlvNode[] {
  const nodes: TlvNode[] = new Array(entries.length);
  const roots: TlvNode[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const node: TlvNode = {
      tag: tagHex(e.tag, e.tagBytes),
      constructed: e.constructed,
      offset: e.header,
      value: bytes.subarray(e.value, e.value + e.length),
      children: [],
    };
    nodes[i] = node;
    (e.parent < 0 ? roots : nodes[e.parent].children).push(node);
  }
  return roots;
}

/** Decodes BER-TLV into a tree. Malformed input is a result with a stable code and offset. */
export function parseTlv(bytes: Uint8Array, limits?: TlvLimits): TlvParseResult {
  const r = decodeTlv(bytes, limits);
  if (!r.ok) return { ok: false, code: r.code, offset: r.offset, message: r.message };
  return { ok: true, nodes: treeFromEntries(bytes, r.entries) };
}

/** Primitive values by tag (first occurrence wins), searching constructed templates too. */
export function flattenValues(nodes: readonly TlvNode[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (list: readonly TlvNode[]) => {
    for (const n of list) {
      if (n.constructed) walk(n.children);
      else if (!out.has(n.tag)) out.set(n.tag, n.value);
    }
  };
  walk(nodes);
  return out;
}
