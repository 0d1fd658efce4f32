import { IcfareError } from "../errors.ts";

/** Errors of the key store, each with a stable code (CLI exit 1, `--json` shows the code). */

/** Stable codes for refused key-store operations. */
export type KeyStoreCode =
  | "MASTER_KEY_MISSING"
  | "MASTER_KEY_INVALID"
  | "MASTER_KEY_IN_HOME"
  | "WRONG_MASTER_KEY"
  | "KEYSTORE_MISSING"
  | "KEYSTORE_EXISTS"
  | "KEYSTORE_TAMPERED"
  | "KEYSTORE_LOCKED"
  | "KEY_NOT_FOUND"
  | "KEY_EXISTS"
  | "KEY_NOT_ACTIVE"
  | "KEY_NOT_EXPORTABLE"
  | "KCV_MISMATCH"
  | "COMPONENT_REFUSED"
  | "DUAL_CONTROL"
  | "USAGE_MISMATCH"
  | "KEK_TOO_WEAK"
  | "BAD_INPUT"
  | "CAPK_CHECKSUM"
  | "CAPK_EXPIRED"
  | "CAPK_NOT_FOUND"
  | "TERMINAL_EXISTS"
  | "TERMINAL_NOT_FOUND"
  | "AUDIT_BROKEN"
  | "AUDIT_INTACT"
  | "AUDIT_LOG_EXISTS"
  | "KEYSTORE_UNREADABLE"
  | "KEYSTORE_READONLY"
  | "TABLE_MISSING"
  | "TABLE_INVALID"
  | "OUTPUT_EXISTS"
  | "OUTPUT_IS_DIRECTORY"
  | "OUTPUT_UNWRITABLE"
  | "ALGORITHM_UNSUPPORTED"
  | "CAPK_NOT_ON_CURVE"
  | "CAPK_CONFLICT"
  | "RESERVED";

/** A refused key-store operation; `keyId` names the key when it is known (audit trail). */
export class KeyStoreError extends IcfareError {
  readonly keyId?: string;

  constructor(
    code: KeyStoreCode | string,
    message: string,
    options?: { hint?: string; keyId?: string; cause?: unknown },
  ) {
    super(code, message, options);
    this.name = "KeyStoreError";
    if (options?.keyId !== undefined) this.keyId = options.keyId;
  }
}

/** The commands that fix the usual refusals (`IcfareError.hint`). */
export const HINTS = {
  init: "run: icfare init (creates the key store and the pan-hash, card-data and " +
    "deny-list signing keys)",
  master: "set ICFARE_MASTER_KEY (64 hex digits) or pass --master-key-file PATH " +
    "(a new one: openssl rand -hex 32 > FILE; chmod 600 FILE)",
  list: "see: icfare keys list",
  terminals: "see: icfare terminals list; add one with: icfare terminals add ID",
  capks: "see: icfare capk list",
  audit: "see: icfare keys audit --show; then an officer runs: icfare keys audit-ack " +
    "--reason TEXT",
} as const;
