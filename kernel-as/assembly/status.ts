// Stable numeric statuses returned by every kernel entry point.
// Ranges: 0 ok; 1-99 general; 100-199 BER-TLV; 200-299 symmetric crypto and hashes;
// 300-399 public-key crypto; 400-499 EMV verification engine.
// Each family declares its own codes in its own file; ../status.ts mirrors them with names
// and messages, and status_test.ts checks that both sides agree.

export const ST_OK: i32 = 0;
export const ST_BAD_ARGUMENT: i32 = 1; // pointer/length outside its region or an absurd count
export const ST_OUTPUT_TOO_SMALL: i32 = 2;
