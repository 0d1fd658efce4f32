/**
 * The operator console (docs/console.md): its own Hono app and process, server-rendered, with
 * accounts and roles; `icfare console` starts it and manages its accounts.
 *
 * @module
 */
export { consoleApp } from "./app.tsx";
export { actorOf, type ConsoleContext, openConsole } from "./context.ts";
export * from "./accounts.ts";
export { PERMISSIONS } from "./guard.ts";
