/**
 * The ISO 8583 link to the acquirer (docs/iso8583.md): field-table codec, field 48 "PA",
 * MACs, working keys, framing, acquirer profiles, messages and answers, the link client and
 * the exactly-once attempt.
 */
export * from "./errors.ts";
export * from "./bcd.ts";
export * from "./fields.ts";
export * from "./codec.ts";
export * from "./chip.ts";
export * from "./pa.ts";
export * from "./mac.ts";
export * from "./keys.ts";
export * from "./frame.ts";
export * from "./profile.ts";
export * from "./messages.ts";
export * from "./answers.ts";
export * from "./transport.ts";
export * from "./link.ts";
export * from "./attempt.ts";
