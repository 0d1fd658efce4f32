/** The durable store: interface, SQLite implementation, migrations, card-data protection. */
export * from "./store.ts";
export * from "./sqlite.ts";
export * from "./migrations.ts";
export * from "./pan.ts";
