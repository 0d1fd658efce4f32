/**
 * The simulated bus network: a world of issuers, cards and terminals, days of taps with
 * faults and their ground truth, and the test-only signing code that builds them. Product
 * code (`icfare simulate`, the demo); never imported by `core/`.
 *
 * @module
 */
export { SCALES, simulateToDir } from "./simulate.ts";
export type { SimulateConfig, SimulateReport } from "./simulate.ts";
export { World } from "./world.ts";
export type { Card, FareTable, Line, Model, Terminal, WorldOptions } from "./world.ts";
export { ANSWER_CODES, issuerAnswer, worldIssuerTruth } from "./issuer_answers.ts";
export type { IssuerAnswer, IssuerRates } from "./issuer_answers.ts";
export { expectedOutcome } from "./outcomes.ts";
export type { MoneyTruth, Outcome } from "./outcomes.ts";
export { denyHistory } from "./denylist.ts";
export type { DenyChange, DenyHistory } from "./denylist.ts";
export { generateDay } from "./day.ts";
export type { BatchOut, TruthRow, UploadBatch, UploadEntry, UploadRecord } from "./day.ts";
export { DEFAULT_FAULTS, NO_FAULTS, withOverrides } from "./faults.ts";
export type { FaultRates } from "./faults.ts";
