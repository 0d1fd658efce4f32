/**
 * Headless Chromium for the browser tests and the audit benchmark: Debian's `chromium`
 * (`.ci/run` installs it) driven by playwright-core with `executablePath`, launched with the
 * background networking, component updates, sync and QUIC turned off so a page under test is
 * the only thing that could make a request.
 */
import type { Browser } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when Chromium is installed; otherwise says in one line which test is skipped. */
export function chromiumPresent(what: string): boolean {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return true;
  } catch {
    // not installed
  }
  console.log(`${what} skipped: ${CHROMIUM} not found (apt-get install chromium)`);
  return false;
}

/** A headless Chromium; the caller closes it. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
