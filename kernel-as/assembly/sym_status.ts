// Statuses of the symmetric family (200-299): ciphers, MACs, hashes. Mirrored with names and
// messages in ../status.ts.

export const ST_SYM_KEY_LENGTH: i32 = 200; // key length not allowed for the algorithm
export const ST_SYM_DATA_LENGTH: i32 = 201; // data not a multiple of the block size, no padding
export const ST_SYM_PADDING: i32 = 202; // padding method not 0 (none), 1 or 2
export const ST_SYM_ALGORITHM: i32 = 203; // unknown algorithm selector
