/**
 * Headless Chromium for the dashboard's browser tests, driven by playwright-core (Debian's
 * chromium; never `npx playwright install`). Each page records console errors, page errors and
 * Content-Security-Policy violations so a test can assert there were none, and saves screenshots
 * as test artefacts under `test-artifacts/browser/` (or `$MUTIRAO_ARTIFACTS`).
 * @module
 */
import { type Browser, chromium, type Page } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The browser to drive: `$MUTIRAO_CHROMIUM`, else the first installed candidate; null if none. */
export function findChromium(): string | null {
  const configured = Deno.env.get("MUTIRAO_CHROMIUM");
  if (configured !== undefined && configured !== "") return configured;
  for (const path of CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not this one
    }
  }
  return null;
}

/**
 * Whether the browser tests run: without Chromium they are skipped with a note, except in CI
 * (`CI=true`), where a missing browser must fail rather than pass unseen (.ci/run installs it).
 */
export function browserTestsIgnored(): boolean {
  if (findChromium() !== null) return false;
  if (Deno.env.get("CI") === "true") {
    throw new Error("CI=true but no Chromium found: install it (apt-get install -y chromium)");
  }
  console.warn("Chromium not found (apt-get install -y chromium): browser tests skipped");
  return true;
}

/** Where screenshots go. */
export function artifactsDir(): string {
  return Deno.env.get("MUTIRAO_ARTIFACTS") ??
    new URL("../../test-artifacts/browser", import.meta.url).pathname;
}

/** A page and what went wrong on it. */
export interface WatchedPage {
  page: Page;
  /** Console errors, uncaught exceptions and CSP violations, in order. */
  problems: string[];
  /** Saves a full-page screenshot as `<test>-<step>.png` in the artefacts directory. */
  shot(step: string): Promise<string>;
}

/** Launches Chromium, runs `body` with a fresh page, and always closes the browser. */
export async function withBrowser(
  test: string,
  body: (open: () => Promise<WatchedPage>, browser: Browser) => Promise<void>,
): Promise<void> {
  const executablePath = findChromium();
  if (executablePath === null) throw new Error("No Chromium to run the browser tests with");
  await Deno.mkdir(artifactsDir(), { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  let shots = 0;
  const pages: WatchedPage[] = [];
  const open = async (): Promise<WatchedPage> => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    // Runs in the page (a string: these files are type-checked without the DOM's types).
    await page.addInitScript({
      content: `document.addEventListener("securitypolicyviolation", (e) =>
        console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));`,
    });
    const watched: WatchedPage = {
      page,
      problems,
      shot: async (step) => {
        shots += 1;
        const path = `${artifactsDir()}/${test}-${String(shots).padStart(2, "0")}-${step}.png`;
        await page.screenshot({ path, fullPage: true });
        return path;
      },
    };
    pages.push(watched);
    return watched;
  };
  try {
    await body(open, browser);
  } catch (error) {
    // What each page showed when the test failed, and what went wrong on it.
    const notes: string[] = [];
    for (const watched of pages) {
      const path = await watched.shot("failure").catch((e) => `(no screenshot: ${e.message})`);
      notes.push(`page ${watched.page.url()}: ${path}\n  ${watched.problems.join("\n  ")}`);
    }
    throw new Error(`${(error as Error).message}\n${notes.join("\n")}`, { cause: error });
  } finally {
    await browser.close();
  }
}

/** Logs in through the dashboard's form and waits for the dashboard. */
export async function logIn(page: Page, user: string, password: string): Promise<void> {
  await page.fill("[data-testid=login] input[name=user]", user);
  await page.fill("[data-testid=login] input[name=password]", password);
  await page.click("[data-testid=login] button[type=submit]");
  await page.waitForSelector("[data-testid=whoami]");
}
