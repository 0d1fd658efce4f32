/**
 * PBOC-aware EMV tag dictionary: names, formats and lengths of the data objects a transit
 * back office meets (docs/emv-pboc.md "The transit tag set"). Formats and lengths follow EMV
 * 4.4 Book 3 Annex A (every tag of format n or cn there is listed, so DOL related data pads
 * and truncates each one by its format, Book 3 §5.4) and the PBOC 3.0 terminal kernel table
 * (guolong TagAttr.c); PBOC-specific tags (9F74, 9F77-9F79, 9F6D, DF60, DF69, DF71, DF79 …)
 * carry their PBOC meaning, not the Mastercard one. PBOC amounts, limits and currency codes
 * the card applet keeps as BCD (9F54, 9F5C, 9F6B, 9F73, 9F75, 9F76, DF62, DF63, DF72,
 * DF76-DF78) are format n.
 */

/** EMV data formats: b binary, n BCD numeric, cn compressed numeric (F-padded), a/an/ans text. */
export type TagFormat = "b" | "n" | "cn" | "a" | "an" | "ans" | "dol" | "template";

export interface TagInfo {
  /** Upper-case hex tag, e.g. "9F02". */
  readonly tag: string;
  readonly name: string;
  readonly format: TagFormat;
  /** Minimum and maximum value length in bytes (inclusive). */
  readonly minBytes: number;
  readonly maxBytes: number;
  /** How the value is rendered for people (beyond the format). */
  readonly render?:
    | "amount"
    | "date"
    | "time"
    | "currency"
    | "country"
    | "txnType"
    | "tvr"
    | "aip"
    | "ttq"
    | "ctq"
    | "cid"
    | "iad"
    | "pan"
    | "track2";
  /** Sensitive values are masked in human output (PAN, track 2). */
  readonly sensitive?: boolean;
  readonly note?: string;
}

const T = (
  tag: string,
  name: string,
  format: TagFormat,
  minBytes: number,
  maxBytes: number,
  extra: Partial<TagInfo> = {},
): TagInfo => ({ tag, name, format, minBytes, maxBytes, ...extra });

const entries: TagInfo[] = [
  // Templates
  T("61", "Application Template", "template", 0, 252),
  T("6F", "File Control Information (FCI) Template", "template", 0, 252),
  T("70", "READ RECORD Response Message Template", "template", 0, 252),
  T("71", "Issuer Script Template 1", "template", 0, 128),
  T("72", "Issuer Script Template 2", "template", 0, 128),
  T("77", "Response Message Template Format 2", "template", 0, 252),
  T("80", "Response Message Template Format 1", "b", 0, 252),
  T("A5", "FCI Proprietary Template", "template", 0, 252),
  T("BF0C", "FCI Issuer Discretionary Data", "template", 0, 222),
  T("E1", "Proprietary template (private class)", "template", 0, 65535),
  // Application selection
  T("4F", "Application Identifier (AID) - card", "b", 5, 16),
  T("50", "Application Label", "ans", 1, 16),
  T("84", "Dedicated File (DF) Name", "b", 5, 16),
  T("87", "Application Priority Indicator", "b", 1, 1),
  T("9F12", "Application Preferred Name", "ans", 1, 16),
  T("9F11", "Issuer Code Table Index", "n", 1, 1),
  T("42", "Issuer Identification Number (IIN)", "n", 3, 3),
  T("9F0C", "Issuer Identification Number Extended (IINE)", "n", 3, 4),
  T("5F2D", "Language Preference", "an", 2, 8),
  T("9F38", "Processing Options Data Object List (PDOL)", "dol", 0, 252),
  // Card data
  T("57", "Track 2 Equivalent Data", "b", 0, 19, { render: "track2", sensitive: true }),
  T("5A", "Application Primary Account Number (PAN)", "cn", 1, 10, {
    render: "pan",
    sensitive: true,
  }),
  T("5F20", "Cardholder Name", "ans", 2, 26),
  T("5F24", "Application Expiration Date", "n", 3, 3, { render: "date" }),
  T("5F25", "Application Effective Date", "n", 3, 3, { render: "date" }),
  T("5F28", "Issuer Country Code", "n", 2, 2, { render: "country" }),
  T("5F30", "Service Code", "n", 2, 2),
  T("5F34", "Application PAN Sequence Number (PSN)", "n", 1, 1),
  T("9F19", "Token Requestor ID", "n", 6, 6),
  T("9F20", "Track 2 Discretionary Data", "cn", 1, 16),
  T("9F24", "Payment Account Reference (PAR)", "an", 29, 29),
  T("9F25", "Last 4 Digits of PAN", "n", 2, 2),
  T("9F3B", "Application Reference Currency", "n", 2, 8),
  T("9F43", "Application Reference Currency Exponent", "n", 1, 4),
  T("5F36", "Transaction Currency Exponent", "n", 1, 1),
  T("82", "Application Interchange Profile (AIP)", "b", 2, 2, { render: "aip" }),
  T("8C", "Card Risk Management Data Object List 1 (CDOL1)", "dol", 0, 252),
  T("8D", "Card Risk Management Data Object List 2 (CDOL2)", "dol", 0, 252),
  T("8E", "Cardholder Verification Method (CVM) List", "b", 10, 252),
  T("8F", "Certification Authority Public Key Index", "b", 1, 1),
  T("90", "Issuer Public Key Certificate", "b", 0, 248),
  T("92", "Issuer Public Key Remainder", "b", 0, 248),
  T("93", "Signed Static Application Data", "b", 0, 248),
  T("94", "Application File Locator (AFL)", "b", 0, 252),
  T("9F07", "Application Usage Control", "b", 2, 2),
  T("9F08", "Application Version Number (card)", "b", 2, 2, {
    note: ">= 0030 means PBOC 3.0 (fDDA 01 mandatory)",
  }),
  T("9F0D", "Issuer Action Code - Default", "b", 5, 5),
  T("9F0E", "Issuer Action Code - Denial", "b", 5, 5),
  T("9F0F", "Issuer Action Code - Online", "b", 5, 5),
  T("9F10", "Issuer Application Data (IAD)", "b", 0, 32, { render: "iad" }),
  T("9F14", "Lower Consecutive Offline Limit", "b", 1, 1),
  T("9F17", "PIN Try Counter", "b", 1, 1),
  T("9F23", "Upper Consecutive Offline Limit", "b", 1, 1),
  T("9F26", "Application Cryptogram", "b", 8, 8),
  T("9F27", "Cryptogram Information Data (CID)", "b", 1, 1, { render: "cid" }),
  T("9F32", "Issuer Public Key Exponent", "b", 1, 3),
  T("9F36", "Application Transaction Counter (ATC)", "b", 2, 2),
  T("9F42", "Application Currency Code", "n", 2, 2, { render: "currency" }),
  T("9F44", "Application Currency Exponent", "n", 1, 1),
  T("9F45", "Data Authentication Code", "b", 2, 2),
  T("9F46", "ICC Public Key Certificate", "b", 0, 248),
  T("9F47", "ICC Public Key Exponent", "b", 1, 3),
  T("9F48", "ICC Public Key Remainder", "b", 0, 248),
  T("9F49", "Dynamic Data Authentication Data Object List (DDOL)", "dol", 0, 252),
  T("9F4A", "Static Data Authentication Tag List", "b", 0, 252, {
    note: "PBOC allows only 82",
  }),
  T("9F4B", "Signed Dynamic Application Data", "b", 0, 248),
  T("9F4C", "ICC Dynamic Number", "b", 2, 8),
  T("9F4D", "Log Entry", "b", 2, 2),
  T("9F4F", "Log Format", "dol", 0, 252),
  T("9F51", "Application Currency Code (PBOC)", "n", 2, 2, { render: "currency" }),
  T("9F54", "Cumulative Total Transaction Amount Limit (CTTAL)", "n", 6, 6, { render: "amount" }),
  T("9F57", "Issuer Country Code (PBOC)", "n", 2, 2, { render: "country" }),
  T("9F5C", "Cumulative Total Transaction Amount Upper Limit (CTTAUL)", "n", 6, 6, {
    render: "amount",
  }),
  T("9F5D", "Available Offline Spending Amount (qPBOC)", "n", 6, 6, { render: "amount" }),
  T("9F63", "Card Product Identification Information (PBOC)", "b", 16, 16),
  T("9F69", "Card Authentication Related Data", "b", 1, 16, {
    note: "byte 1 = fDDA version (00/01)",
  }),
  T("9F6B", "Card CVM Limit (卡片CVM限额)", "n", 6, 6, { render: "amount" }),
  T("9F6C", "Card Transaction Qualifiers (CTQ)", "b", 2, 2, { render: "ctq" }),
  T("9F6D", "EC Reset Threshold (电子现金重置阈值)", "n", 6, 6, { render: "amount" }),
  T("9F74", "EC Issuer Authorization Code (电子现金发卡行授权码)", "a", 6, 6, {
    note: "present means an electronic-cash offline approval",
  }),
  T("9F77", "EC Balance Limit (电子现金余额上限)", "n", 6, 6, { render: "amount" }),
  T("9F78", "EC Single Transaction Limit (电子现金单笔交易限额)", "n", 6, 6, {
    render: "amount",
  }),
  T("9F79", "EC Balance (电子现金余额)", "n", 6, 6, { render: "amount" }),
  T("9F73", "Currency Conversion Factor (货币转换因子)", "n", 4, 4),
  T("9F75", "Cumulative Total Transaction Amount Limit, Dual Currency", "n", 6, 6),
  T("9F76", "Secondary Application Currency Code (第二应用货币代码)", "n", 2, 2, {
    render: "currency",
  }),
  T("9F7A", "EC Terminal Support Indicator", "b", 1, 1),
  T("9F7B", "EC Terminal Transaction Limit", "n", 6, 6, { render: "amount" }),
  T("DF4D", "EC Load Log Entry (PBOC 3.0)", "b", 2, 2),
  T("DF4F", "EC Load Log Format (PBOC 3.0)", "dol", 0, 252),
  T("DF60", "CAPP Transaction Indicator (CAPP交易指示位)", "b", 1, 1, {
    note: "semantics unsure (docs/emv-pboc.md, Still unknown)",
  }),
  T("DF62", "Segmented Fare Deduction Limit (分段扣费抵扣限额)", "n", 6, 6, { render: "amount" }),
  T("DF63", "Segmented Fare Amount Deducted (分段扣费已抵扣额)", "n", 6, 6, { render: "amount" }),
  T("DF69", "SM Algorithm Support Indicator (国密算法支持指示器)", "b", 1, 1, {
    note: "00 DES/RSA, 01 SM2/SM3/SM4",
  }),
  T("DF71", "Second-currency EC Currency Code", "n", 2, 2, { render: "currency" }),
  T("DF72", "Second-currency Card CVM Limit", "n", 6, 6),
  T("DF76", "Second-currency EC Reset Threshold", "n", 6, 6),
  T("DF77", "Second-currency EC Balance Limit", "n", 6, 6),
  T("DF78", "Second-currency EC Single Transaction Limit", "n", 6, 6),
  T("DF79", "Second-currency EC Balance", "n", 6, 6, { render: "amount" }),
  // Terminal and transaction data
  T("8A", "Authorisation Response Code", "an", 2, 2, { note: '"Y1" offline approved' }),
  T("91", "Issuer Authentication Data", "b", 8, 16),
  T("95", "Terminal Verification Results (TVR)", "b", 5, 5, { render: "tvr" }),
  T("9A", "Transaction Date", "n", 3, 3, { render: "date" }),
  T("9B", "Transaction Status Information (TSI)", "b", 2, 2),
  T("9C", "Transaction Type", "n", 1, 1, { render: "txnType" }),
  T("5F57", "Account Type", "n", 1, 1),
  T("9F01", "Acquirer Identifier", "n", 6, 6),
  T("9F02", "Amount, Authorised (Numeric)", "n", 6, 6, { render: "amount" }),
  T("9F03", "Amount, Other (Numeric)", "n", 6, 6, { render: "amount" }),
  T("9F06", "Application Identifier (AID) - terminal", "b", 5, 16),
  T("9F09", "Application Version Number (terminal)", "b", 2, 2),
  T("9F15", "Merchant Category Code", "n", 2, 2),
  T("9F16", "Merchant Identifier", "ans", 15, 15),
  T("9F1A", "Terminal Country Code", "n", 2, 2, { render: "country" }),
  T("9F1C", "Terminal Identification", "an", 8, 8),
  T("9F1E", "Interface Device (IFD) Serial Number", "an", 8, 8),
  T("9F21", "Transaction Time", "n", 3, 3, { render: "time" }),
  T("9F22", "Certification Authority Public Key Index (terminal)", "b", 1, 1),
  T("9F33", "Terminal Capabilities", "b", 3, 3),
  T("9F34", "Cardholder Verification Method (CVM) Results", "b", 3, 3),
  T("9F35", "Terminal Type", "n", 1, 1),
  T("9F37", "Unpredictable Number", "b", 4, 4),
  T("9F39", "Point-of-Service (POS) Entry Mode", "n", 1, 1),
  T("9F3C", "Transaction Reference Currency Code", "n", 2, 2, { render: "currency" }),
  T("9F3D", "Transaction Reference Currency Exponent", "n", 1, 1),
  T("9F40", "Additional Terminal Capabilities", "b", 5, 5),
  T("9F41", "Transaction Sequence Counter", "n", 2, 4),
  T("9F4E", "Merchant Name and Location", "ans", 0, 255),
  T("9F53", "Transaction Category Code", "an", 1, 1),
  T("9F66", "Terminal Transaction Qualifiers (TTQ)", "b", 4, 4, { render: "ttq" }),
  T("5F2A", "Transaction Currency Code", "n", 2, 2, { render: "currency" }),
];

const byTag = new Map(entries.map((e) => [e.tag, e]));

/** Every dictionary entry, in table order. */
export const TAGS: readonly TagInfo[] = entries;

/** Looks a tag up by its upper-case hex; undefined when not in the dictionary. */
export function tagInfo(tag: string): TagInfo | undefined {
  return byTag.get(tag.toUpperCase());
}

/** Name for display: the dictionary's, or a description of the tag's class. */
export function tagName(tag: string): string {
  const info = tagInfo(tag);
  if (info) return info.name;
  const first = parseInt(tag.slice(0, 2), 16);
  const cls = ["universal", "application", "context-specific", "private"][first >> 6];
  return `Unknown ${cls} tag`;
}
