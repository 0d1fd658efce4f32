/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core
 * (`.ci/run` installs it when missing; without it the tests say so in one line and are
 * skipped), launched with the flags the team machine and CI need, and a watch on a page that
 * collects every console error and uncaught page error.
 */
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether Debian's Chromium is installed. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
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
