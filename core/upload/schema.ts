/**
 * The v1 upload contract (docs/upload-api.md) as zod schemas: the single source of the request and
 * receipt types, of validation, and of the OpenAPI document (`openapi.ts`). Objects are
 * strict (unknown keys, including `__proto__`, are refused) and every size is bounded.
 */
import { z } from "zod";
import { isRealDay, YEAR_MAX, YEAR_MIN } from "../dates.ts";

/** Hex text of whole bytes, at most `maxBytes`. */
export function hexField(maxBytes: number, description: string) {
  return z.string().max(maxBytes * 2).regex(/^(?:[0-9A-Fa-f]{2})+$/, "must be hex of whole bytes")
    .describe(description);
}

/** Bounds of one upload. */
export const LIMITS = {
  /** docs/upload-api.md: body at most 16 MiB. */
  bodyBytesMax: 16 * 1024 * 1024,
  recordsMax: 5000,
  iccBytesMax: 2048,
  odaTlvBytesMax: 4096,
  staticDataBytesMax: 4096,
  /** JSON nesting the contract needs is 4; anything deeper is refused before parsing. */
  jsonDepthMax: 8,
} as const;

const ISO_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * What is wrong with a `tappedAt` that matched `ISO_OFFSET`, or null: a real day in a plausible
 * year (core/dates.ts; V8's Date.parse would roll 30 February over into March), a real time,
 * and a UTC offset within ±14:00 (the widest in use, UTC+14).
 */
function tappedAtProblem(s: string): string | null {
  const y = Number(s.slice(0, 4)), m = Number(s.slice(5, 7)), d = Number(s.slice(8, 10));
  const h = Number(s.slice(11, 13)), mi = Number(s.slice(14, 16)), sec = Number(s.slice(17, 19));
  if (y < YEAR_MIN || y > YEAR_MAX) return `year must be ${YEAR_MIN}-${YEAR_MAX}`;
  if (!isRealDay(y, m, d) || h > 23 || mi > 59 || sec > 59) return "must be a real date and time";
  const off = /([+-])(\d{2}):(\d{2})$/.exec(s);
  if (off && (Number(off[3]) > 59 || Number(off[2]) * 60 + Number(off[3]) > 14 * 60)) {
    return "UTC offset must be within -14:00..+14:00";
  }
  return null;
}

/**
 * Characters that are not printable text: controls (C0, DEL, C1), format characters (bidi
 * overrides and isolates, zero-width spaces and joiners, BOM, soft hyphen), surrogates, private
 * use, unassigned code points, and the line and paragraph separators.
 */
const NOT_PRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/**
 * Short printable text from a terminal (line, vehicle, stop): 1-32 UTF-16 units of well-formed
 * Unicode (a lone surrogate is refused, never replaced), no character that is not printable,
 * not only whitespace. These values reach operators' tables and CSV files.
 */
const shortText = (what: string) =>
  z.string().min(1).max(32)
    .refine((s) => s.isWellFormed(), "must be well-formed Unicode (no lone surrogates)")
    .refine(
      (s) => !NOT_PRINTABLE.test(s),
      "must be printable text (no control, format, bidi or zero-width characters)",
    )
    .refine((s) => /\S/u.test(s), "must not be only whitespace")
    .describe(what);

export const OdaSchema = z.strictObject({
  tlv: hexField(
    LIMITS.odaTlvBytesMax,
    "TLV: 8F 90 92 9F32 9F46 9F47 9F48 9F4A (SM2: 8F 90 9F46 9F4A)",
  ),
  staticData: hexField(
    LIMITS.staticDataBytesMax,
    "static data to be authenticated, built from the AFL records",
  ),
}).describe("evidence for offline data authentication");

export const RecordSchema = z.strictObject({
  seq: z.int().min(1).max(2_147_483_647).describe("terminal trace number, unique in the batch"),
  tappedAt: z.string().max(40).regex(ISO_OFFSET, "must be ISO 8601 with a UTC offset")
    .superRefine((s, ctx) => {
      const problem = ISO_OFFSET.test(s) ? tappedAtProblem(s) : null;
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .describe("local time of the tap with its offset (-14:00..+14:00), years 2000-2099"),
  line: shortText("bus line"),
  vehicle: shortText("vehicle id"),
  stop: shortText("stop id").optional(),
  fare: z.int().min(0).max(999_999_999_999).describe("fare in fen; must equal 9F02"),
  icc: hexField(LIMITS.iccBytesMax, "chip data exactly as captured (field-55 style TLV)"),
  oda: OdaSchema.optional(),
});

export const UploadBatchSchema = z.strictObject({
  terminalId: z.string().regex(/^[0-9A-Za-z]{8}$/, "must be 8 letters or digits (9F1C)"),
  merchantId: z.string().regex(/^[0-9]{15}$/, "must be 15 digits"),
  batchNo: z.int().min(1).max(999_999).describe("with terminalId, the idempotency key"),
  denyListVersion: z.int().min(0).max(2_147_483_647),
  records: z.array(RecordSchema).min(1).max(LIMITS.recordsMax),
  totals: z.strictObject({
    count: z.int().min(0).max(LIMITS.recordsMax),
    amount: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
}).superRefine((b, ctx) => {
  const seen = new Set<number>();
  b.records.forEach((r, i) => {
    if (seen.has(r.seq)) {
      ctx.addIssue({
        code: "custom",
        path: ["records", i, "seq"],
        message: `seq ${r.seq} appears twice in the batch`,
      });
    }
    seen.add(r.seq);
  });
}).describe("a batch of offline taps (docs/upload-api.md)");

export type UploadBatch = z.infer<typeof UploadBatchSchema>;
export type UploadRecord = z.infer<typeof RecordSchema>;

/** A finding about one record, or about the request: `{code, message, path}`. */
export const IssueSchema = z.object({
  seq: z.int(),
  code: z.string(),
  message: z.string(),
  path: z.string(),
});

export const ReceiptSchema = z.object({
  batchId: z.string(),
  digest: z.string().describe("lower-case hex SHA-256 of the body as received"),
  received: z.int(),
  accepted: z.int(),
  rejected: z.array(IssueSchema),
  replayed: z.boolean(),
}).describe("sent only after the batch is durably committed; identical on every replay");

export type Receipt = z.infer<typeof ReceiptSchema>;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    path: z.string().optional(),
    requestId: z.string(),
  }),
});

/** `records[3].icc` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else s += s === "" ? String(p) : `.${String(p)}`;
  }
  return s;
}
