/**
 * The contract's ODA check table (part of `contract.ts`, which re-exports it; data only).
 */

/**
 * Every ODA check that can fail, in a fixed order (the kernel reports `1 + index`), with its
 * message and the record status it gives (EMV 4.4 Book 2 §5.3-§6.6; SM2 formats of
 * `docs/emv-pboc.md`).
 */
export const ODA_CHECKS = [
  {
    name: "CAPK_UNKNOWN",
    status: "CAPK_UNKNOWN",
    message: "no CA public key for this RID and index",
  },
  {
    name: "CAPK_EXPIRED",
    status: "CERT_EXPIRED",
    message: "CA public key expired at the transaction date",
  },
  {
    name: "ODA_DATA_MISSING",
    status: "MISSING_DATA",
    message: "a data object needed for ODA is absent",
  },
  {
    name: "ISSUER_CERT_LENGTH",
    status: "ODA_FAILED",
    message: "issuer certificate length differs from the CA key length",
  },
  {
    name: "ISSUER_CERT_TRAILER",
    status: "ODA_FAILED",
    message: "recovered issuer certificate does not end with BC",
  },
  {
    name: "ISSUER_CERT_HEADER",
    status: "ODA_FAILED",
    message: "recovered issuer certificate does not start with 6A",
  },
  {
    name: "ISSUER_CERT_FORMAT",
    status: "ODA_FAILED",
    message: "issuer certificate format is not 02 (RSA) / 12 (SM2)",
  },
  {
    name: "ISSUER_REMAINDER_MISSING",
    status: "ODA_FAILED",
    message: "issuer public key remainder (92) needed but absent",
  },
  {
    name: "ISSUER_REMAINDER_LENGTH",
    status: "ODA_FAILED",
    message: "issuer public key remainder (92) has the wrong length",
  },
  {
    name: "ISSUER_EXPONENT",
    status: "ODA_FAILED",
    message: "issuer public key exponent (9F32) absent, not 03/010001, or length differs",
  },
  {
    name: "ISSUER_CERT_HASH_ALGORITHM",
    status: "ODA_FAILED",
    message: "issuer certificate hash algorithm is not 01 (SHA-1)",
  },
  {
    name: "ISSUER_CERT_HASH",
    status: "ODA_FAILED",
    message: "issuer certificate hash does not match",
  },
  {
    name: "ISSUER_CERT_SIGNATURE",
    status: "ODA_FAILED",
    message: "issuer certificate SM2 signature by the CA does not verify",
  },
  {
    name: "ISSUER_ID_MISMATCH",
    status: "ODA_FAILED",
    message: "issuer identifier does not match the leading PAN digits",
  },
  {
    name: "ISSUER_CERT_EXPIRED",
    status: "CERT_EXPIRED",
    message: "issuer certificate expired at the transaction date",
  },
  {
    name: "ISSUER_CERT_REVOKED",
    status: "CERT_REVOKED",
    message: "issuer certificate serial is on the revocation list",
  },
  {
    name: "ISSUER_PK_ALGORITHM",
    status: "ODA_FAILED",
    message: "issuer public key algorithm indicator is not RSA 01 / SM2 04",
  },
  {
    name: "ISSUER_KEY_INVALID",
    status: "ODA_FAILED",
    message: "issuer public key length or point is invalid",
  },
  {
    name: "ICC_CERT_LENGTH",
    status: "ODA_FAILED",
    message: "ICC certificate length differs from the issuer key length",
  },
  {
    name: "ICC_CERT_TRAILER",
    status: "ODA_FAILED",
    message: "recovered ICC certificate does not end with BC",
  },
  {
    name: "ICC_CERT_HEADER",
    status: "ODA_FAILED",
    message: "recovered ICC certificate does not start with 6A",
  },
  {
    name: "ICC_CERT_FORMAT",
    status: "ODA_FAILED",
    message: "ICC certificate format is not 04 (RSA) / 14 (SM2)",
  },
  {
    name: "ICC_REMAINDER_MISSING",
    status: "ODA_FAILED",
    message: "ICC public key remainder (9F48) needed but absent",
  },
  {
    name: "ICC_REMAINDER_LENGTH",
    status: "ODA_FAILED",
    message: "ICC public key remainder (9F48) has the wrong length",
  },
  {
    name: "ICC_EXPONENT",
    status: "ODA_FAILED",
    message: "ICC public key exponent (9F47) absent, not 03/010001, or length differs",
  },
  {
    name: "ICC_CERT_HASH_ALGORITHM",
    status: "ODA_FAILED",
    message: "ICC certificate hash algorithm is not 01 (SHA-1)",
  },
  {
    name: "ICC_CERT_HASH",
    status: "ODA_FAILED",
    message: "ICC certificate hash does not match (certificate or static data altered)",
  },
  {
    name: "ICC_CERT_SIGNATURE",
    status: "ODA_FAILED",
    message: "ICC certificate SM2 signature by the issuer does not verify",
  },
  {
    name: "ICC_PAN_MISMATCH",
    status: "ODA_FAILED",
    message: "PAN in the ICC certificate differs from 5A",
  },
  {
    name: "ICC_CERT_EXPIRED",
    status: "CERT_EXPIRED",
    message: "ICC certificate expired at the transaction date",
  },
  {
    name: "ICC_PK_ALGORITHM",
    status: "ODA_FAILED",
    message: "ICC public key algorithm indicator is not RSA 01 / SM2 04",
  },
  {
    name: "ICC_KEY_INVALID",
    status: "ODA_FAILED",
    message: "ICC public key length or point is invalid",
  },
  {
    name: "SDA_TAG_LIST",
    status: "ODA_FAILED",
    message: "SDA tag list (9F4A) may contain only 82",
  },
  {
    name: "SSAD_LENGTH",
    status: "ODA_FAILED",
    message: "signed static data (93) length differs from the issuer key length",
  },
  {
    name: "SSAD_TRAILER",
    status: "ODA_FAILED",
    message: "recovered signed static data does not end with BC",
  },
  {
    name: "SSAD_HEADER",
    status: "ODA_FAILED",
    message: "recovered signed static data does not start with 6A",
  },
  {
    name: "SSAD_FORMAT",
    status: "ODA_FAILED",
    message: "signed static data format is not 03 (RSA) / 13 (SM2)",
  },
  {
    name: "SSAD_HASH_ALGORITHM",
    status: "ODA_FAILED",
    message: "signed static data hash algorithm is not 01 (SHA-1)",
  },
  {
    name: "SSAD_HASH",
    status: "ODA_FAILED",
    message: "signed static data hash does not match",
  },
  {
    name: "SDAD_LENGTH",
    status: "ODA_FAILED",
    message: "signed dynamic data (9F4B) length differs from the ICC key length",
  },
  {
    name: "SDAD_TRAILER",
    status: "ODA_FAILED",
    message: "recovered signed dynamic data does not end with BC",
  },
  {
    name: "SDAD_HEADER",
    status: "ODA_FAILED",
    message: "recovered signed dynamic data does not start with 6A",
  },
  {
    name: "SDAD_FORMAT",
    status: "ODA_FAILED",
    message: "signed dynamic data format is not 05 or 95 (RSA) / 15 (SM2)",
  },
  {
    name: "SDAD_HASH_ALGORITHM",
    status: "ODA_FAILED",
    message: "signed dynamic data hash algorithm is not 01 (SHA-1)",
  },
  {
    name: "SDAD_DYNAMIC_LENGTH",
    status: "ODA_FAILED",
    message: "ICC dynamic data length does not fit the signed data",
  },
  {
    name: "SDAD_HASH",
    status: "ODA_FAILED",
    message: "signed dynamic data hash does not match (terminal data or card data altered)",
  },
  {
    name: "SDAD_SIGNATURE",
    status: "ODA_FAILED",
    message: "SM2 dynamic signature does not verify",
  },
  {
    name: "FDDA_VERSION",
    status: "ODA_FAILED",
    message: "fDDA version (9F69 byte 1) is not 00 or 01",
  },
  {
    name: "CDA_CID_MISMATCH",
    status: "ODA_FAILED",
    message: "CID inside the CDA signature differs from 9F27",
  },
  {
    name: "CDA_AC_MISMATCH",
    status: "ODA_FAILED",
    message: "cryptogram inside the CDA signature differs from 9F26",
  },
  {
    name: "CDA_TDHC",
    status: "ODA_FAILED",
    message: "transaction data hash code inside the CDA signature does not match",
  },
  {
    name: "SDAD_DYNAMIC_NUMBER",
    status: "ODA_FAILED",
    message: "the ICC dynamic number in the signed dynamic data is not 02 ‖ ATC of this tap (9F36)",
  },
  {
    name: "SDAD_CTQ",
    status: "ODA_FAILED",
    message: "the CTQ inside the signed 9F69 differs from the tap's 9F6C",
  },
  {
    name: "ISSUER_CERT_CURVE",
    status: "ODA_FAILED",
    message: "SM2 issuer certificate bytes 11-12 are not 00 11 (no key encryption, SM2 curve)",
  },
  {
    name: "ICC_CERT_CURVE",
    status: "ODA_FAILED",
    message: "SM2 ICC certificate bytes 17-18 are not 00 11 (no key encryption, SM2 curve)",
  },
  {
    name: "SSAD_SIGNATURE",
    status: "ODA_FAILED",
    message: "SM2 signature of the signed static data (93, format 13) does not verify",
  },
  {
    name: "ODA_DATA_TOO_LONG",
    status: "ODA_FAILED",
    message: "static data and certificates exceed the engine's ODA buffer",
  },
] as const;
