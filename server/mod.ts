/** The Hono upload server (design.md §3). */
export * from "./app.ts";
export * from "./serve.ts";
export * from "./metrics.ts";
export * from "./openapi.ts";
