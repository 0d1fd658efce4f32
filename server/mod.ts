/** The Hono upload server (docs/upload-api.md). */
export * from "./app.ts";
export * from "./serve.ts";
export * from "./metrics.ts";
export * from "./openapi.ts";
