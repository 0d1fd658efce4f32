/** Readable tree and JSON views of decoded chip data, for `icfare tlv` and `explain`. */
import { toHex } from "../hex.ts";
import { tagInfo, tagName } from "./dictionary.ts";
import type { TlvNode } from "./tree.ts";
import { renderValue } from "./values.ts";

export interface JsonNode {
  tag: string;
  name: string;
  format?: string;
  offset: number;
  length: number;
  value?: string;
  decoded?: unknown;
  warning?: string;
  children?: JsonNode[];
}

function lengthWarning(n: TlvNode): string | undefined {
  const info = tagInfo(n.tag);
  if (!info || n.constructed) return undefined;
  if (n.value.length < info.minBytes || n.value.length > info.maxBytes) {
    const want = info.minBytes === info.maxBytes
      ? `${info.minBytes}`
      : `${info.minBytes}..${info.maxBytes}`;
    return `length ${n.value.length} outside the expected ${want} bytes`;
  }
  return undefined;
}

/** Indented text tree: tag, name, length, decoded value, then spelled-out bits. */
export function renderTree(nodes: readonly TlvNode[], indent = ""): string[] {
  const lines: string[] = [];
  for (const n of nodes) {
    const head = `${indent}${n.tag.padEnd(4)} ${tagName(n.tag)} [${n.value.length}]`;
    if (n.constructed) {
      lines.push(head);
      lines.push(...renderTree(n.children, indent + "  "));
      continue;
    }
    const r = renderValue(n.tag, n.value);
    lines.push(`${head}: ${r.text}`);
    for (const d of r.details) lines.push(`${indent}       ${d}`);
    const w = lengthWarning(n);
    if (w) lines.push(`${indent}       warning: ${w}`);
  }
  return lines;
}

/** JSON view; sensitive values (PAN, track 2) appear masked only. */
export function treeToJson(nodes: readonly TlvNode[]): JsonNode[] {
  return nodes.map((n) => {
    const info = tagInfo(n.tag);
    const base: JsonNode = {
      tag: n.tag,
      name: tagName(n.tag),
      offset: n.offset,
      length: n.value.length,
    };
    if (info) base.format = info.format;
    if (n.constructed) return { ...base, children: treeToJson(n.children) };
    const r = renderValue(n.tag, n.value);
    if (!info?.sensitive) base.value = toHex(n.value);
    base.decoded = r.json;
    const w = lengthWarning(n);
    if (w) base.warning = w;
    return base;
  });
}
