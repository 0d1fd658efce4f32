/**
 * Headless Chromium for the browser tests and the audit benchmark: Debian's `chromium` driven
 * by playwright-core with `executablePath` (`.ci/run` installs it when missing; without it the
 * tests say so in one line and are skipped), launched with background networking, component
 * updates, sync and QUIC off so the page under test is the only thing that could make a
 * request, and a watch on a page that collects every console error and uncaught page error.
 */
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether Debian's Chromium is installed; when not, says in one line that `what` is skipped. */
export function chromiumPresent(what: string): boolean {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return true;
  } catch {
    // not installed
  }
  console.log(`${what} skipped: ${CHROMIUM} not found (apt-get install chromium)`);
  return false;
}

/** Headless Chromium without sandbox, GPU, QUIC or background traffic. */
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

/** Console errors and page errors of `page`, as they happen. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}
