/**
 * What the console's routes share: the request environment, refusals shown as coded pages, and
 * the roles each state change needs (docs/console.md, "Accounts and roles").
 */
import { IcfareError } from "../core/errors.ts";
import { consoleAudit, type Role } from "./accounts.ts";
import type { ConsoleContext } from "./context.ts";
import type { Session } from "./sessions.ts";

/** Which roles may change what; reading any page is open to every role. */
export const PERMISSIONS = {
  "terminals.change": ["security"],
  "denylist.change": ["operator"],
  "clearing.file": ["operator", "auditor"],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

export type Env = { Variables: { session: Session; form: Record<string, string> } };

/** A refusal the console shows as a page with its HTTP status. */
export class Refusal extends IcfareError {
  constructor(readonly status: 400 | 403 | 404 | 429, code: string, message: string) {
    super(code, message);
  }
}

/** Refuses (and audits) unless the session's role has `perm`. */
export function requireRole(ctx: ConsoleContext, s: Session, perm: Permission, target: string) {
  if ((PERMISSIONS[perm] as readonly string[]).includes(s.role ?? "")) return;
  consoleAudit(ctx.store.connection, {
    account: s.account ?? "anonymous",
    action: perm,
    target,
    result: "refused",
    detail: `role ${s.role} may not`,
  });
  throw new Refusal(403, "ROLE_REFUSED", `the ${s.role} role may not do ${perm}`);
}
