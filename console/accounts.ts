/**
 * Console accounts (docs/console.md, "Accounts and roles"): who may log in to the operator
 * console and with which role. Passwords are hashed with Argon2id (RFC 9106; hash-wasm) at the
 * parameters OWASP recommends for a server (19 MiB of memory, 2 passes, 1 lane); the store keeps
 * only the encoded hash (parameters, salt, hash), never the password. Every change of an account
 * goes to the console's audit trail with the name of who made it.
 */
import type { DatabaseSync } from "node:sqlite";
import { argon2id, argon2Verify } from "hash-wasm";
import { IcfareError } from "../core/errors.ts";

/** operator: the day's work; auditor: reads everything, changes nothing; security: terminals. */
export type Role = "operator" | "auditor" | "security";
export const ROLES: readonly Role[] = ["operator", "auditor", "security"];

export interface Account {
  readonly name: string;
  readonly role: Role;
  readonly state: "active" | "disabled";
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
}

/** A refused account operation or login (stable code, one line). */
export class ConsoleError extends IcfareError {}

/** Argon2id parameters (OWASP Password Storage Cheat Sheet, the first of its equal choices). */
export const ARGON2 = { memorySize: 19456, iterations: 2, parallelism: 1, hashLength: 32 };
export const PASSWORD_MIN = 12;

/** The encoded Argon2id hash of `password` with a fresh 16-byte salt. */
export function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return argon2id({ password, salt, ...ARGON2, outputType: "encoded" });
}

/** A hash of nothing, verified when the account does not exist so both paths cost the same. */
let decoy: Promise<string> | undefined;

export function checkName(name: string): void {
  if (!/^[a-z][a-z0-9._-]{1,31}$/.test(name)) {
    throw new ConsoleError(
      "BAD_ACCOUNT_NAME",
      `account name "${name}": 2-32 lower-case letters, digits, '.', '_' or '-', from a letter`,
    );
  }
}

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new ConsoleError("BAD_ROLE", `role "${role}": one of ${ROLES.join(", ")}`);
  }
  return role as Role;
}

export function checkPassword(password: string): void {
  if ([...password].length < PASSWORD_MIN) {
    throw new ConsoleError("WEAK_PASSWORD", `password: at least ${PASSWORD_MIN} characters`);
  }
}

type Row = Record<string, unknown>;

function accountOf(r: Row): Account {
  return {
    name: String(r.name),
    role: String(r.role) as Role,
    state: String(r.state) as Account["state"],
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
    updatedAt: String(r.updated_at),
  };
}

/** One entry of the console's audit trail. */
export interface ConsoleAuditEntry {
  readonly account: string;
  readonly action: string;
  readonly target: string;
  readonly result: "ok" | "refused";
  readonly detail: string;
}

/** Appends to the console audit trail (an append-only table of the store). */
export function consoleAudit(
  db: DatabaseSync,
  e: ConsoleAuditEntry,
  at: Date = new Date(),
): void {
  db.prepare(
    `INSERT INTO console_audit (at, account, action, target, result, detail)
     VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(at.toISOString(), e.account, e.action, e.target, e.result, e.detail);
}

/** The latest entries of the console audit trail, newest first. */
export function consoleAuditTail(db: DatabaseSync, limit = 100): (ConsoleAuditEntry & {
  id: number;
  at: string;
})[] {
  return (db.prepare("SELECT * FROM console_audit ORDER BY id DESC LIMIT ?").all(limit) as Row[])
    .map(auditEntryOf);
}

function auditEntryOf(r: Row): ConsoleAuditEntry & { id: number; at: string } {
  return {
    id: Number(r.id),
    at: String(r.at),
    account: String(r.account),
    action: String(r.action),
    target: String(r.target),
    result: String(r.result) as "ok" | "refused",
    detail: String(r.detail),
  };
}

/** The latest entry of `action` per target (e.g. the last audit of each archived day). */
export function consoleAuditLatest(
  db: DatabaseSync,
  action: string,
): Map<string, ConsoleAuditEntry & { id: number; at: string }> {
  const rows = db.prepare(
    `SELECT * FROM console_audit WHERE id IN
       (SELECT max(id) FROM console_audit WHERE action = ? GROUP BY target)`,
  ).all(action) as Row[];
  return new Map(rows.map((r) => [String(r.target), auditEntryOf(r)]));
}

/** The accounts of a store. */
export class Accounts {
  constructor(
    private readonly db: DatabaseSync,
    private readonly now: () => Date = () => new Date(),
  ) {}

  list(): Account[] {
    return (this.db.prepare("SELECT * FROM console_accounts ORDER BY name").all() as Row[])
      .map(accountOf);
  }

  get(name: string): Account | null {
    const r = this.db.prepare("SELECT * FROM console_accounts WHERE name = ?").get(name) as
      | Row
      | undefined;
    return r ? accountOf(r) : null;
  }

  /** Creates an account; refused when the name is taken. `by` names who created it. */
  async add(name: string, role: string, password: string, by: string): Promise<Account> {
    checkName(name);
    const r = checkRole(role);
    checkPassword(password);
    if (this.get(name)) {
      throw new ConsoleError("ACCOUNT_EXISTS", `account ${name} exists`, {
        hint: "icfare console user passwd NAME to set a new password",
      });
    }
    const hash = await hashPassword(password);
    const at = this.now().toISOString();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      this.db.prepare(
        `INSERT INTO console_accounts (name, role, password_hash, created_at, created_by,
           updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(name, r, hash, at, by, at);
      consoleAudit(this.db, {
        account: by,
        action: "account.add",
        target: name,
        result: "ok",
        detail: `role ${r}`,
      }, this.now());
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
    return this.get(name)!;
  }

  /** Sets a new password (the old sessions of the account stay until they expire). */
  async setPassword(name: string, password: string, by: string): Promise<void> {
    checkPassword(password);
    this.#existing(name);
    const hash = await hashPassword(password);
    this.#change(name, "account.passwd", by, "password set", "password_hash = ?", hash);
  }

  /** Disables or enables an account; a disabled account cannot log in. */
  setState(name: string, state: "active" | "disabled", by: string): void {
    this.#existing(name);
    this.#change(
      name,
      `account.${state === "active" ? "enable" : "disable"}`,
      by,
      state,
      "state = ?",
      state,
    );
  }

  #existing(name: string): Account {
    checkName(name);
    const a = this.get(name);
    if (!a) {
      throw new ConsoleError("ACCOUNT_NOT_FOUND", `no account ${name}`, {
        hint: "icfare console user list",
      });
    }
    return a;
  }

  #change(name: string, action: string, by: string, detail: string, set: string, v: string) {
    const at = this.now().toISOString();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      this.db.prepare(`UPDATE console_accounts SET ${set}, updated_at = ? WHERE name = ?`)
        .run(v, at, name);
      consoleAudit(
        this.db,
        { account: by, action, target: name, result: "ok", detail },
        this.now(),
      );
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /**
   * The active account whose password this is, or null (unknown name, wrong password, disabled
   * account). An unknown name costs one Argon2id verification too.
   */
  async verify(name: string, password: string): Promise<Account | null> {
    const r = /^[a-z][a-z0-9._-]{1,31}$/.test(name)
      ? this.db.prepare("SELECT * FROM console_accounts WHERE name = ?").get(name) as
        | Row
        | undefined
      : undefined;
    if (!r) {
      await argon2Verify({ password, hash: await (decoy ??= hashPassword("\u0000decoy")) });
      return null;
    }
    const ok = await argon2Verify({ password, hash: String(r.password_hash) });
    if (!ok || r.state !== "active") return null;
    return accountOf(r);
  }
}
