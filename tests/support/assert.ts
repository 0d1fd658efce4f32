/**
 * Test assertions. The design names `@std/assert`, but JSR is unreachable from our
 * machines, so these are thin wrappers over Deno's built-in `node:assert` with the
 * `@std/assert` names: switching back later is an import-map change.
 */
import nodeAssert from "node:assert/strict";

// With ICFARE_COUNT_ASSERTIONS=1 a test process prints how many assertions it made (the figure
// of docs/testing.md on where the engine's value assertions come from; bench-free, no timing).
let made = 0;
const counting = (() => {
  try {
    return Deno.env.get("ICFARE_COUNT_ASSERTIONS") === "1";
  } catch {
    return false;
  }
})();
if (counting) {
  globalThis.addEventListener("unload", () => console.error(`ICFARE_ASSERTIONS ${made}`));
}

export function assert(condition: unknown, message?: string): asserts condition {
  made++;
  nodeAssert.ok(condition, message);
}

export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  made++;
  nodeAssert.deepStrictEqual(actual, expected, message);
}

export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  made++;
  nodeAssert.notDeepStrictEqual(actual, expected, message);
}

export function assertStrictEquals<T>(actual: unknown, expected: T, message?: string): void {
  made++;
  nodeAssert.strictEqual(actual, expected, message);
}

export function assertMatch(actual: string, expected: RegExp, message?: string): void {
  made++;
  nodeAssert.match(actual, expected, message);
}

export function assertThrows(
  fn: () => unknown,
  errorClass?: new (...args: never[]) => Error,
  msgIncludes?: string,
): Error {
  made++;
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return check(caught, errorClass, msgIncludes);
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass?: new (...args: never[]) => Error,
  msgIncludes?: string,
): Promise<Error> {
  made++;
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  return check(caught, errorClass, msgIncludes);
}

function check(
  caught: unknown,
  errorClass?: new (...args: never[]) => Error,
  msgIncludes?: string,
): Error {
  nodeAssert.ok(caught !== undefined, "expected the function to throw");
  nodeAssert.ok(caught instanceof Error, `expected an Error, got ${String(caught)}`);
  if (errorClass) {
    nodeAssert.ok(caught instanceof errorClass, `expected ${errorClass.name}, got ${caught.name}`);
  }
  if (msgIncludes !== undefined) {
    nodeAssert.ok(
      caught.message.includes(msgIncludes),
      `expected message to include "${msgIncludes}", got "${caught.message}"`,
    );
  }
  return caught;
}

export function fail(message: string): never {
  nodeAssert.fail(message);
}
