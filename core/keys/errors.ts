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
  | "TERMINAL_NOT_FOUND";

/** A refused key-store operation. */
export class KeyStoreError extends IcfareError {
  constructor(code: KeyStoreCode | string, message: string, options?: { hint?: string }) {
    super(code, message, options);
    this.name = "KeyStoreError";
  }
}
