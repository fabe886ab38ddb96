// First view of the dashboard: how long a new visitor waits for a complete page.
//
//   SHADOWER_BIN=/path/to/shadower node e2e/firstview.mjs     (default: ../shadower from web/)
//
// Starts `shadower demo` on a free port, waits until the backfill is done, then
// RUNS times (default 10) opens the dashboard in a fresh browser context (cold
// cache, 1440x900) and measures the time from navigation start until the page
// is complete:
//   - the five key figures show numbers;
//   - every panel (Running now, Queue, Throughput, Latency, Executions and
//     success rate, Performance by agent, Recent failures) has left its loading
//     state (no role=status spinner inside it);
//   - the three charts have a canvas with a non-zero size.
// The time is the page's own performance.now() (origin = navigation start) at
// the first animation frame where all of this holds. A panel showing an error
// fails the run. Prints each time, the median and the max, then saves a
// full-page screenshot of the last view (SHOT, default ../docs/dashboard.png).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDemo, stopDemo } from './demo.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const webDir = resolve(here, '..');
const bin = resolve(webDir, process.env.SHADOWER_BIN ?? '../shadower');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const RUNS = Number(process.env.RUNS ?? 10);
const shot = resolve(webDir, process.env.SHOT ?? '../docs/dashboard.png');
const VIEWPORT = { width: 1440, height: 900 };
const PANELS = [
  'Running now',
  'Queue',
  'Throughput',
  'Latency',
  'Executions and success rate',
  'Performance by agent',
  'Recent failures',
];
const CHART_PANELS = ['Throughput', 'Latency', 'Executions and success rate'];

let browser = null;
const log = (...a) => console.log(...a);


/**
 * Runs in the page on every animation frame: the time since navigation start
 * once the page is complete, false before, and throws when a panel errs.
 */
function pageComplete({ panels, chartPanels }) {
  const figs = document.querySelectorAll('section[aria-label="Key figures"] [role="group"]');
  if (figs.length < 5) return false;
  for (const f of figs) {
    const v = f.querySelector('[data-testid="figure-value"]')?.textContent ?? '';
    if (!/\d/.test(v)) {
      if (v.includes('—')) throw new Error(`figure ${f.getAttribute('aria-label')} failed to load`);
      return false;
    }
  }
  const byTitle = new Map();
  for (const s of document.querySelectorAll('section[aria-labelledby]')) {
    const h = document.getElementById(s.getAttribute('aria-labelledby'));
    if (h) byTitle.set(h.textContent.trim(), s);
  }
  for (const t of panels) {
    const s = byTitle.get(t);
    if (!s) return false;
    if (s.querySelector('[role="alert"]')) throw new Error(`panel ${t} shows an error: ${s.querySelector('[role="alert"]').textContent}`);
    if (s.querySelector('[role="status"]')) return false;
  }
  for (const t of chartPanels) {
    const c = byTitle.get(t).querySelector('canvas');
    if (!c || c.width === 0 || c.height === 0) return false;
  }
  return performance.now();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

async function main() {
  const { dashboard: url } = await startDemo(bin, log);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const times = [];
  for (let i = 1; i <= RUNS; i++) {
    const ctx = await browser.newContext({ viewport: VIEWPORT });
    const page = await ctx.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    const h = await page.waitForFunction(pageComplete, { panels: PANELS, chartPanels: CHART_PANELS }, { polling: 'raf', timeout: 30_000 });
    const ms = await h.jsonValue();
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      return n ? { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd } : null;
    });
    times.push(ms);
    log(`run ${String(i).padStart(2)}: complete at ${ms.toFixed(0)} ms` + (nav ? ` (DOMContentLoaded ${nav.dcl.toFixed(0)} ms, load ${nav.load.toFixed(0)} ms)` : ''));
    if (i === RUNS) {
      // Let the live stream and the previous-period series settle before the picture.
      await page.getByRole('status', { name: 'Connection: Live' }).waitFor({ timeout: 10_000 }).catch(() => {});
      await page.waitForTimeout(1500);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: shot, fullPage: true });
      log(`screenshot: ${shot}`);
    }
    await ctx.close();
  }
  log(`first view over ${times.length} runs: median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms`);
  log(`times (ms): ${times.map((t) => t.toFixed(0)).join(', ')}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (browser) await browser.close().catch(() => {});
    stopDemo();
  });
