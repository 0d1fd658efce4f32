import { assertEquals } from "@icfare/assert";
import { decideOutcome, exceptionReasons, type OutcomeInput } from "./outcomes.ts";

const ok: OutcomeInput = {
  status: "OK",
  model: "EC",
  cryptogram: "ok",
  oda: "ok",
  cryptogramType: "TC",
  late: false,
};

function pick(i: Partial<OutcomeInput>) {
  const d = decideOutcome({ ...ok, ...i });
  return [d.outcome, d.reason, d.deny, d.ledger, d.issuerVerifies];
}

Deno.test("outcomes: the two models on an OK verdict", () => {
  assertEquals(pick({}), ["CLEARED", "EC_TC", null, "receivable", false]);
  assertEquals(pick({ cryptogramType: "ARQC" }), ["EXCEPTION", "EC_ARQC", null, "none", false]);
  assertEquals(pick({ model: "ODA", cryptogramType: "ARQC" }), [
    "DEBT",
    "ODA_ARQC",
    null,
    "debt",
    false,
  ]);
  assertEquals(pick({ model: "ODA" }), ["CLEARED", "OFFLINE_TC", null, "receivable", false]);
  assertEquals(pick({ model: "ODA", cryptogramType: "ARQC", oda: "absent" }), [
    "EXCEPTION",
    "ODA_NOT_VERIFIED",
    null,
    "none",
    false,
  ]);
  assertEquals(pick({ cryptogramType: undefined }), [
    "EXCEPTION",
    "NO_CRYPTOGRAM_TYPE",
    null,
    "none",
    false,
  ]);
});

Deno.test("outcomes: no-key and unsupported cryptograms are cleared and flagged for the issuer", () => {
  assertEquals(pick({ cryptogram: "no-key" }), ["CLEARED", "EC_TC", null, "receivable", true]);
  assertEquals(pick({ model: "ODA", cryptogramType: "ARQC", cryptogram: "unsupported" }), [
    "DEBT",
    "ODA_ARQC",
    null,
    "debt",
    true,
  ]);
});

Deno.test("outcomes: late applies only to what would be presented", () => {
  assertEquals(pick({ late: true }), ["EXCEPTION", "LATE", null, "loss", false]);
  assertEquals(pick({ late: true, model: "ODA", cryptogramType: "ARQC" })[1], "LATE");
  assertEquals(pick({ late: true, cryptogramType: "ARQC" })[1], "EC_ARQC");
  assertEquals(pick({ late: true, status: "AC_MISMATCH" })[1], "AC_MISMATCH");
  assertEquals(decideOutcome({ ...ok, late: true }).rule, "EC:TC:late");
});

Deno.test("outcomes: statuses by name, with their deny-list action", () => {
  const rows: [string, string, string, string | null][] = [
    ["DUPLICATE", "DUPLICATE", "DUPLICATE", null],
    ["AC_MISMATCH", "EXCEPTION", "AC_MISMATCH", "CRYPTOGRAM_FAILED"],
    ["REPLAY_SUSPECT", "EXCEPTION", "REPLAY_SUSPECT", "CRYPTOGRAM_FAILED"],
    ["ODA_FAILED", "EXCEPTION", "ODA_FAILED", "ODA_FAILED"],
    ["CERT_REVOKED", "EXCEPTION", "CERT_REVOKED", "ODA_FAILED"],
    ["CARD_EXPIRED", "EXCEPTION", "CARD_EXPIRED", "CARD_EXPIRED"],
    ["IDD_MAC_MISMATCH", "EXCEPTION", "IDD_MAC_MISMATCH", "CRYPTOGRAM_FAILED"],
    ["DENYLISTED", "EXCEPTION", "DENYLISTED", null],
    ["CAPK_UNKNOWN", "EXCEPTION", "CAPK_UNKNOWN", null],
    ["CARD_DECLINED", "EXCEPTION", "CARD_DECLINED", null],
    ["MALFORMED_TLV", "EXCEPTION", "MALFORMED_TLV", null],
    ["FARE_MISMATCH", "EXCEPTION", "FARE_MISMATCH", null],
    ["SOMETHING_NEW", "EXCEPTION", "SOMETHING_NEW", null],
  ];
  for (const [status, outcome, reason, deny] of rows) {
    const d = decideOutcome({ ...ok, status, model: "ODA", cryptogramType: "ARQC" });
    assertEquals([d.outcome, d.reason, d.deny, d.ledger], [outcome, reason, deny, "none"], status);
  }
});

Deno.test("outcomes: an expired CA key is not the card's fault", () => {
  const card = decideOutcome({ ...ok, status: "CERT_EXPIRED", odaCheck: "ICC_CERT_EXPIRED" });
  assertEquals([card.reason, card.deny], ["CERT_EXPIRED", "ODA_FAILED"]);
  const ca = decideOutcome({ ...ok, status: "CERT_EXPIRED", odaCheck: "CAPK_EXPIRED" });
  assertEquals([ca.reason, ca.deny, ca.rule], [
    "CERT_EXPIRED",
    null,
    "status:CERT_EXPIRED:CAPK_EXPIRED",
  ]);
});

Deno.test("outcomes: the documented list of exception reasons", () => {
  assertEquals(exceptionReasons().sort(), [
    "AC_MISMATCH",
    "CAPK_UNKNOWN",
    "CARD_DECLINED",
    "CARD_EXPIRED",
    "CERT_EXPIRED",
    "CERT_REVOKED",
    "DENYLISTED",
    "EC_ARQC",
    "FARE_MISMATCH",
    "IDD_MAC_MISMATCH",
    "LATE",
    "MALFORMED_TLV",
    "MISSING_DATA",
    "NO_CRYPTOGRAM_TYPE",
    "ODA_FAILED",
    "ODA_NOT_VERIFIED",
    "REPLAY_SUSPECT",
  ]);
});
