/**
 * The OpenAPI 3.1 document of the v1 upload API, generated from the zod schemas that validate
 * the requests (core/upload/schema.ts) and the error table (core/upload/errors.ts).
 */
import { z } from "zod";
import { ErrorBodySchema, ReceiptSchema, UploadBatchSchema } from "../core/upload/schema.ts";
import { DenyListKeySchema, SignedListSchema } from "../core/denylist/signed.ts";
import { ERRORS } from "../core/upload/errors.ts";
import { AUTH_SCHEME } from "../core/auth/hmac.ts";

function schema(s: z.ZodType): Record<string, unknown> {
  const j = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  delete j.$schema;
  return j;
}

function errorsFor(codes: (keyof typeof ERRORS)[]): Record<string, unknown> {
  const by = new Map<number, string[]>();
  for (const c of codes) by.set(ERRORS[c].status, [...(by.get(ERRORS[c].status) ?? []), c]);
  return Object.fromEntries(
    [...by].map(([status, cs]) => [String(status), {
      description: cs.join(", "),
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    }]),
  );
}

const AUTH_ERRORS: (keyof typeof ERRORS)[] = [
  "AUTH_MISSING",
  "AUTH_MALFORMED",
  "AUTH_STALE_TIMESTAMP",
  "AUTH_UNKNOWN_TERMINAL",
  "AUTH_BAD_SIGNATURE",
  "AUTH_TERMINAL_MISMATCH",
  "RATE_LIMITED",
  "STORAGE_UNAVAILABLE",
];

const json = (ref: string) => ({ "application/json": { schema: { $ref: ref } } });

/** The schemas, all generated from the zod schemas that validate. */
function components(): Record<string, unknown> {
  return {
    securitySchemes: {
      terminalHmac: { type: "apiKey", in: "header", name: "Authorization" },
    },
    schemas: {
      UploadBatch: schema(UploadBatchSchema),
      Receipt: schema(ReceiptSchema),
      Error: schema(ErrorBodySchema),
      DenyList: schema(SignedListSchema),
      DenyListKey: schema(DenyListKeySchema),
    },
  };
}

/** `POST /v1/batches` and `GET /v1/batches/{terminalId}/{batchNo}`. */
function batchPaths(): Record<string, unknown> {
  return {
    "/v1/batches": {
      post: {
        summary: "upload a batch of offline taps",
        requestBody: { required: true, content: json("#/components/schemas/UploadBatch") },
        responses: {
          "200": {
            description: "receipt (after commit)",
            content: json("#/components/schemas/Receipt"),
          },
          ...errorsFor([
            "INVALID_JSON",
            "JSON_TOO_DEEP",
            "VALIDATION_FAILED",
            ...AUTH_ERRORS,
            "BATCH_CONFLICT",
            "BODY_TOO_LARGE",
            "REQUEST_TIMEOUT",
            "UNSUPPORTED_MEDIA_TYPE",
            "TOTALS_MISMATCH",
          ]),
        },
      },
    },
    "/v1/batches/{terminalId}/{batchNo}": {
      get: {
        summary: "the receipt of a stored batch again",
        parameters: [
          { name: "terminalId", in: "path", required: true, schema: { type: "string" } },
          { name: "batchNo", in: "path", required: true, schema: { type: "integer" } },
        ],
        responses: {
          "200": {
            description: "receipt, replayed: true",
            content: json("#/components/schemas/Receipt"),
          },
          ...errorsFor([...AUTH_ERRORS, "BAD_QUERY", "BATCH_NOT_FOUND"]),
        },
      },
    },
  };
}

/** `GET /v1/denylist` and `GET /v1/denylist/key` (docs/denylist.md). */
function denyListPath(): Record<string, unknown> {
  return {
    "/v1/denylist": {
      get: {
        summary: "the deny list, full (since=0) or the changes after a version, signed by the " +
          "deny-list signing key (SM2 or ECDSA P-256) over the bytes of docs/denylist.md",
        parameters: [{
          name: "since",
          in: "query",
          required: false,
          schema: { type: "integer", minimum: 0 },
        }],
        responses: {
          "200": {
            description: "the list with its digests and signature",
            content: json("#/components/schemas/DenyList"),
          },
          ...errorsFor([...AUTH_ERRORS, "BAD_QUERY", "DENYLIST_UNAVAILABLE"]),
        },
      },
    },
    "/v1/denylist/key": {
      get: {
        summary: "the deny-list public key; X-Icfare-Signature: hex HMAC-SHA256(terminal key, " +
          "body bytes)",
        responses: {
          "200": {
            description: "algorithm, public key 04||x||y, KCV",
            content: json("#/components/schemas/DenyListKey"),
          },
          ...errorsFor([...AUTH_ERRORS, "DENYLIST_UNAVAILABLE"]),
        },
      },
    },
  };
}

/** The routes without authentication. */
function opsPaths(): Record<string, unknown> {
  const open = (summary: string, responses: Record<string, unknown>) => ({
    get: { security: [], summary, responses },
  });
  return {
    "/healthz": open("liveness and store reachability", {
      "200": { description: "ok" },
      "503": { description: "store unavailable" },
    }),
    "/metrics": open("Prometheus text", { "200": { description: "metrics" } }),
    "/openapi.json": open("this document", { "200": { description: "OpenAPI 3.1" } }),
  };
}

/** Builds the document (once per server). */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "icfare terminal upload API",
      version: "1.0.0",
      description: "docs/upload-api.md. Every /v1 route is signed: Authorization: " +
        `${AUTH_SCHEME} Credential=<terminalId>, Timestamp=<unix s>, Signature=<hex HMAC-SHA256(` +
        'key, METHOD "\\n" PATH "\\n" Timestamp "\\n" lower-hex SHA-256(body))>.',
    },
    components: components(),
    security: [{ terminalHmac: [] }],
    paths: { ...batchPaths(), ...denyListPath(), ...opsPaths() },
  };
}
