// End-to-end test of the dashboard against the real binary.
//
//   SHADOWER_BIN=/path/to/shadower npm run e2e     (default: ../shadower from web/)
//
// Starts `shadower serve` on a free port with a temporary store, creates a
// read key for workspace "e2e", posts executions and worker heartbeats, then drives headless
// Chromium through the dashboard; then checks the workers, queue, anomaly and
// forecast panels against `shadower demo` too (E2E_DEMO=0 skips that). Exits
// non-zero on any failed check and always stops the servers.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { demoProcess, startDemo, stopDemo } from './demo.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const webDir = resolve(here, '..');
const bin = resolve(webDir, process.env.SHADOWER_BIN ?? '../shadower');
const shotsDir = join(here, 'screenshots');
const docsShot = resolve(webDir, '../docs/dashboard.png');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WS = 'e2e';
const AGENTS = ['planner', 'coder', 'reviewer'];

let server = null;
let browser = null;
let dataDir = null;
let failures = 0;
let passed = 0;

function log(...args) {
  console.log(...args);
}

function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    log(`ok   ${name}`);
  } else {
    failures++;
    log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
  }
  return ok;
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A full-page screenshot from the top, so the sticky header sits where it belongs. */
async function fullShot(page, path) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
}

async function waitFor(what, fn, timeoutMs, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ': ' + last.message : ''}`);
}

function stopServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    const p = server;
    setTimeout(() => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }, 5000).unref();
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopServer();
    process.exit(130);
  });
}
process.on('exit', () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
});

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const adminKey = 'op_' + randomBytes(24).toString('base64url');
  dataDir = mkdtempSync(join(tmpdir(), 'shadower-e2e-'));
  const logPath = join(dataDir, 'server.log');
  const logFile = createWriteStream(logPath);

  log(`starting ${bin} on ${base}`);
  server = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--data', join(dataDir, 'store')], {
    env: { ...process.env, SHADOWER_ADMIN_KEY: adminKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.pipe(logFile);
  server.stderr.pipe(logFile);
  const exited = new Promise((res) => server.once('exit', (code, sig) => res({ code, sig })));
  server.once('error', (e) => log(`could not start the server: ${e.message}`));

  await Promise.race([
    waitFor('/readyz', async () => (await fetch(`${base}/readyz`)).ok, 20_000, 100),
    exited.then(({ code, sig }) => {
      throw new Error(`the server exited (code ${code}, signal ${sig}) before it was ready`);
    }),
  ]);
  log('server ready');

  const api = async (method, path, key, body) => {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };

  const created = await api('POST', `/api/v1/workspaces/${WS}/keys`, adminKey, { scope: 'read' });
  const readKey = created.key;
  check('read key created', typeof readKey === 'string' && readKey.length > 10);

  // History: 36 executions over the last hour, 7 of them failing, and 4 that
  // started and are still running.
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  const events = [];
  let n = 0;
  const ev = (type, id, agent, at, extra = {}) =>
    events.push({ event_id: `ev-${n++}`, type, execution_id: id, workspace_id: WS, agent_id: agent, timestamp: iso(at), ...extra });
  const errorTypes = ['RateLimit', 'ToolError', 'ContextOverflow'];
  for (let i = 0; i < 36; i++) {
    const id = `done-${i}`;
    const agent = AGENTS[i % AGENTS.length];
    const queued = now - 58 * 60_000 + i * 90_000;
    const started = queued + 500 + (i % 5) * 700;
    const finished = started + 800 + ((i * 7919) % 20) * 450;
    ev('queued', id, agent, queued, { trigger: 'api' });
    ev('started', id, agent, started, { worker_id: `w-${i % 3}` });
    ev('progress', id, agent, (started + finished) / 2, { progress: 50 });
    if (i % 5 === 1) {
      ev('failed', id, agent, finished, { error: { type: errorTypes[Math.floor(i / 5) % 3], message: `step ${i} failed: upstream said no` } });
    } else {
      ev('completed', id, agent, finished, { tokens: 100 + i, credits: 0.5 });
    }
  }
  for (let i = 0; i < 4; i++) {
    const id = `running-${i}`;
    const agent = AGENTS[i % AGENTS.length];
    ev('queued', id, agent, now - (120 - i * 20) * 1000);
    ev('started', id, agent, now - (110 - i * 20) * 1000, { worker_id: `w-${i}` });
    if (i % 2 === 0) ev('progress', id, agent, now - 30_000, { progress: 25 + i * 20 });
  }
  const ingested = await api('POST', '/api/v1/events', adminKey, events);
  check('events ingested', ingested.accepted === events.length, JSON.stringify(ingested));

  // Workers report: two active, one silent for 10 minutes (lost after three 15 s intervals).
  const beats = [
    { workspace_id: WS, worker_id: 'e2e-w-1', capacity_slots: 8, busy_slots: 3, cpu_percent: 42.5, memory_bytes: 1.5 * 2 ** 30, memory_limit_bytes: 4 * 2 ** 30, labels: { pool: 'e2e', region: 'local' }, interval_seconds: 15 },
    { workspace_id: WS, worker_id: 'e2e-w-2', capacity_slots: 4, busy_slots: 1, cpu_percent: 12, interval_seconds: 15 },
    { workspace_id: WS, worker_id: 'e2e-w-lost', capacity_slots: 2, busy_slots: 0, interval_seconds: 15, timestamp: iso(now - 10 * 60_000) },
  ];
  const hb = await api('POST', '/api/v1/workers/heartbeat', adminKey, beats);
  check('heartbeats accepted', hb?.accepted === beats.length, JSON.stringify(hb));

  const realtime = (agent) =>
    api('GET', `/api/v1/metrics/execution/realtime?workspace_id=${WS}${agent ? `&agent_id=${agent}` : ''}`, readKey);
  const failedList = await api('GET', `/api/v1/executions?workspace_id=${WS}&status=failed&limit=20`, readKey);
  check('API lists failed executions', failedList.items.length === 7, `got ${failedList.items.length}`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') log(`  console: ${m.text()}`);
  });
  mkdirSync(shotsDir, { recursive: true });

  const rootRes = await fetch(base + '/');
  const rootHtml = await rootRes.text();
  if (!check('the binary serves the dashboard at /', rootRes.ok && rootHtml.includes('id="root"'), `${rootRes.status}`)) {
    throw new Error('no dashboard to test');
  }

  await page.goto(`${base}/#key=${encodeURIComponent(readKey)}&workspace=${WS}`);
  const figure = (name) => page.getByRole('group', { name, exact: true }).getByTestId('figure-value');
  const readFigure = async (name) => {
    const t = (await figure(name).textContent())?.trim() ?? '';
    return /^[\d,]+$/.test(t) ? Number(t.replace(/,/g, '')) : NaN;
  };

  await waitFor('the Running figure', async () => !Number.isNaN(await readFigure('Running')), 15_000);
  const url0 = new URL(page.url());
  check('the key left the address bar', url0.hash === '' && url0.searchParams.get('ws') === WS, page.url());
  check('the key is in sessionStorage', (await page.evaluate(() => sessionStorage.getItem('shadower.key'))) === readKey);

  // Running equals the API's realtime figure.
  const rt0 = await realtime();
  const running0 = await readFigure('Running');
  check(`Running shows the API's realtime running (${rt0.running})`, running0 === rt0.running, `page shows ${running0}`);
  check('Queued shows the API figure', (await readFigure('Queued')) === rt0.queued);
  await page.getByRole('region', { name: 'Throughput' }).getByRole('img').waitFor({ timeout: 15_000 });
  await page.getByRole('region', { name: 'Running now' }).getByRole('progressbar').first().waitFor({ timeout: 10_000 });
  await waitFor('the live mark', () => page.getByRole('status', { name: 'Connection: Live' }).isVisible(), 10_000).then(
    () => check('the live mark says Live', true),
    (e) => check('the live mark says Live', false, e.message),
  );
  await checkNewPanels(page, (path) => api('GET', path, readKey), { ws: WS, worker: 'e2e-w-1', lost: 'e2e-w-lost' });

  const overview = join(shotsDir, 'overview.png');
  await fullShot(page, overview);
  try {
    // The README's picture is refreshed on request only, so a test run
    // leaves the work tree as it found it.
    if (process.env.UPDATE_SCREENSHOT) {
      mkdirSync(dirname(docsShot), { recursive: true });
      copyFileSync(overview, docsShot);
      log(`overview screenshot copied to ${docsShot}`);
    }
  } catch (e) {
    log(`could not copy the overview screenshot: ${e.message}`);
  }

  // New executions start: the figure moves without a reload.
  const fresh = [];
  const t = Date.now();
  for (let i = 0; i < 3; i++) {
    const id = `live-${randomUUID().slice(0, 8)}`;
    fresh.push({ event_id: `ev-live-${i}-${id}`, type: 'started', execution_id: id, workspace_id: WS, agent_id: AGENTS[i], timestamp: iso(t), worker_id: 'w-live' });
  }
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  await api('POST', '/api/v1/events', adminKey, fresh);
  const postedAt = Date.now();
  const want = running0 + 3;
  try {
    await waitFor(`Running to become ${want}`, async () => (await readFigure('Running')) === want, 2000, 50);
    check(`Running moved to ${want} within 2 s without a reload (${Date.now() - postedAt} ms)`, navigations === 0);
  } catch (e) {
    check('Running moved within 2 s without a reload', false, `${e.message}; shows ${await readFigure('Running')}`);
  }
  const rt1 = await realtime();
  check('Running still equals the API', (await readFigure('Running')) === rt1.running, `API ${rt1.running}`);
  await page.screenshot({ path: join(shotsDir, 'live.png') });

  // Timeframe 7d: the URL changes and the charts are drawn again for it.
  const metrics7d = page.waitForResponse(
    (r) => r.url().includes('/api/v1/metrics/execution?') && r.url().includes('timeframe=7d') && r.ok(),
    { timeout: 10_000 },
  );
  await page.getByRole('group', { name: 'Timeframe' }).getByRole('button', { name: '7d', exact: true }).click();
  await waitFor('tf=7d in the URL', () => new URL(page.url()).searchParams.get('tf') === '7d', 3000).then(
    () => check('timeframe 7d is in the URL', true),
    (e) => check('timeframe 7d is in the URL', false, e.message),
  );
  await metrics7d.then(
    () => check('metrics fetched for 7d', true),
    (e) => check('metrics fetched for 7d', false, e.message),
  );
  const tpChart = page.getByRole('region', { name: 'Throughput' }).getByRole('img');
  await waitFor('the hourly throughput chart', async () => /per 1 h/.test((await tpChart.getAttribute('aria-label')) ?? ''), 10_000).then(
    () => check('the throughput chart is drawn for 7d (hourly buckets)', true),
    (e) => check('the throughput chart is drawn for 7d (hourly buckets)', false, e.message),
  );
  check('the 7d button is pressed', (await page.getByRole('button', { name: '7d', exact: true }).getAttribute('aria-pressed')) === 'true');
  await fullShot(page, join(shotsDir, 'timeframe-7d.png'));

  // Filter by an agent from the table.
  const agent = 'coder';
  const perf = page.getByRole('region', { name: 'Performance by agent' });
  const agentMetrics = page.waitForResponse(
    (r) => r.url().includes('/api/v1/metrics/execution?') && r.url().includes(`agent_id=${agent}`) && r.ok(),
    { timeout: 10_000 },
  );
  await perf.getByRole('button', { name: `Filter by agent ${agent}`, exact: true }).click();
  check('the agent is in the URL', new URL(page.url()).searchParams.get('agent') === agent, page.url());
  check('the URL kept the timeframe', new URL(page.url()).searchParams.get('tf') === '7d');
  await agentMetrics.then(
    () => check('metrics fetched for the agent', true),
    (e) => check('metrics fetched for the agent', false, e.message),
  );
  await page.getByRole('region', { name: 'Filter' }).waitFor({ timeout: 5000 }).then(
    () => check('the filter is shown with a way to clear it', true),
    (e) => check('the filter is shown with a way to clear it', false, e.message),
  );
  const rowsText = async () => (await perf.getByRole('button', { name: /^Filter by agent / }).allTextContents()).join(',');
  await waitFor('the table to show one agent', async () => (await rowsText()) === agent, 10_000).then(
    () => check('the table shows only the agent', true),
    async (e) => check('the table shows only the agent', false, `${e.message}: ${await rowsText()}`),
  );
  const rtAgent = await realtime(agent);
  await waitFor('Running for the agent', async () => (await readFigure('Running')) === rtAgent.running, 5000).then(
    () => check(`Running is the agent's figure (${rtAgent.running})`, true),
    async (e) => check("Running is the agent's figure", false, `${e.message}: shows ${await readFigure('Running')}`),
  );
  await fullShot(page, join(shotsDir, 'agent-filter.png'));
  await page.getByRole('button', { name: 'Clear filter' }).click();
  check('clearing the filter removes it from the URL', new URL(page.url()).searchParams.get('agent') === null);

  // A failed execution and its events.
  const failures = page.getByRole('region', { name: 'Recent failures' });
  const first = failures.getByRole('button', { name: /^Open failed execution / }).first();
  await first.waitFor({ timeout: 10_000 });
  const label = (await first.getAttribute('aria-label')) ?? '';
  const execId = label.replace('Open failed execution ', '');
  check('a failure shows its error type', /RateLimit|ToolError|ContextOverflow/.test((await first.textContent()) ?? ''));
  await first.click();
  const dialog = page.getByRole('dialog', { name: execId });
  await dialog.waitFor({ timeout: 5000 });
  const eventsTable = dialog.getByRole('table', { name: 'Events' });
  await eventsTable.waitFor({ timeout: 10_000 }).then(
    () => check(`the events of ${execId} are shown`, true),
    (e) => check('the events of the failed execution are shown', false, e.message),
  );
  const rows = await eventsTable.getByRole('row').count();
  check('all 4 events are listed', rows === 5, `${rows - 1} rows`);
  const tableText = (await eventsTable.textContent()) ?? '';
  check('the failed event shows its error', /failed/.test(tableText) && /upstream said no/.test(tableText));
  check('the execution is in the URL', new URL(page.url()).searchParams.get('exec') === execId);
  await page.screenshot({ path: join(shotsDir, 'execution.png') });

  // A reload keeps the view.
  await page.reload();
  await page.getByRole('dialog', { name: execId }).waitFor({ timeout: 10_000 }).then(
    () => check('a reload reopens the same view', true),
    (e) => check('a reload reopens the same view', false, e.message),
  );
  check('no uncaught page errors', pageErrors.length === 0, pageErrors.join('; '));

  await demoChecks();
}

/**
 * The workers, queue, anomaly and forecast panels show what the API says
 * (default window: 24h). `worker` is a worker that must be listed (the first
 * the API lists when not given), `lost` one that must be flagged lost.
 */
async function checkNewPanels(page, get, { ws, prefix = '', worker, lost } = {}) {
  const q = `workspace_id=${ws}&timeframe=24h`;
  const settle = (what, fn, ms = 15_000) =>
    waitFor(prefix + what, fn, ms).then(
      () => check(prefix + what, true),
      (e) => check(prefix + what, false, e.message),
    );

  // System load: the workers that sent heartbeats, a silent one flagged.
  const res = await get(`/api/v1/metrics/execution/resources?${q}`);
  const listed = worker ?? res.workers[0]?.worker_id;
  check(`${prefix}the API lists workers`, res.workers.length >= 1 && res.workers_active >= 1 && !!listed, JSON.stringify({ active: res.workers_active, lost: res.workers_lost }));
  const load = page.getByRole('region', { name: 'System load', exact: true });
  await settle(`System load lists worker ${listed}`, () => load.getByRole('rowheader', { name: listed, exact: true }).isVisible());
  const workersStat = load.getByRole('group', { name: 'Workers', exact: true }).getByTestId('stat-value');
  await settle(`System load shows ${res.workers_active} active workers`, async () => (await workersStat.textContent())?.trim() === String(res.workers_active));
  if (lost && res.workers.some((w) => w.worker_id === lost && w.lost)) {
    const lostRow = load.getByRole('row').filter({ has: page.getByRole('rowheader', { name: lost, exact: true }) });
    await settle(`the silent worker ${lost} is flagged lost`, async () => /Lost/.test((await lostRow.textContent()) ?? ''));
  }
  const shotName = prefix ? `${prefix.replace(/\W+/g, '')}-system-load.png` : 'system-load.png';
  await load.screenshot({ path: join(shotsDir, shotName) }).catch(() => {});

  // Queue: the drain estimate agrees with the API's drain_seconds.
  const queue = await get(`/api/v1/metrics/execution/queue?${q}`);
  const drain = page.getByRole('region', { name: 'Queue backlog and wait', exact: true }).getByRole('group', { name: 'Drain estimate', exact: true });
  const want = queue.queued === 0 ? /^Empty/ : queue.drain_seconds === null ? /^Not draining/ : /^Drains in/;
  await settle(`the queue panel shows a drain estimate (${want})`, async () => want.test(((await drain.textContent()) ?? '').trim()));

  // Anomalies: the findings, or the empty state, as the API has them.
  const pat = await get(`/api/v1/metrics/execution/patterns?${q}`);
  const anomalies = page.getByRole('region', { name: 'Anomalies', exact: true });
  if (pat.anomalies.length === 0) {
    await settle('the anomaly panel says nothing was unusual', () => anomalies.getByText('Nothing unusual in this window.').isVisible());
  } else {
    // Findings may open between the two reads: the page shows at least those the API had.
    await settle(`the anomaly panel lists the ${pat.anomalies.length} findings`, async () =>
      (await anomalies.getByRole('list', { name: 'Findings', exact: true }).getByRole('listitem', { name: /,/ }).count()) >= pat.anomalies.length,
    );
  }
  await settle('the anomaly panel shows the detector status', async () => ((await anomalies.getByTestId('detector').textContent()) ?? '').length > 0);

  // The throughput chart says what the forecast is, or why there is none.
  const fc = await get(`/api/v1/metrics/execution/forecast?workspace_id=${ws}`);
  const tp = page.getByRole('region', { name: 'Throughput', exact: true });
  if (fc.available) {
    await settle('the throughput chart draws the forecast', async () => /forecast for the next/.test((await tp.getByRole('img').getAttribute('aria-label')) ?? ''));
    await settle('the throughput chart labels the forecast per hour', () => tp.getByText(/^Forecast, per hour, next \d+ h:/).isVisible());
  } else {
    await settle(`the throughput chart says why there is no forecast (${fc.reason})`, () => tp.getByText(`Forecast unavailable: ${fc.reason}`).isVisible());
  }
}

/**
 * The same panels against `shadower demo`, whose simulated workers send
 * heartbeats and whose week of history gives a forecast. E2E_DEMO=0 skips it.
 */
async function demoChecks() {
  if (process.env.E2E_DEMO === '0') {
    log('demo checks skipped (E2E_DEMO=0)');
    return;
  }
  const { dashboard, base } = await startDemo(bin, log);
  try {
    const frag = new URLSearchParams(new URL(dashboard).hash.slice(1));
    const key = frag.get('key');
    const ws = frag.get('workspace');
    const get = async (path) => {
      const res = await fetch(base + path, { headers: { Authorization: `Bearer ${key}` } });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dashboard);
    await checkNewPanels(page, get, { ws, prefix: 'demo: ' });
    await fullShot(page, join(shotsDir, 'demo-overview.png'));
    check('demo: no uncaught page errors', errors.length === 0, errors.join('; '));
    await page.close();
  } finally {
    const p = demoProcess();
    stopDemo();
    if (p && p.exitCode === null && p.signalCode === null) await new Promise((res) => p.once('exit', res));
  }
}

let exitCode = 0;
try {
  await main();
} catch (e) {
  failures++;
  log(`FAIL ${e.message}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  stopServer();
  if (server) {
    await new Promise((res) => {
      if (server.exitCode !== null || server.signalCode !== null) return res();
      server.once('exit', res);
    });
  }
  if (failures > 0 && dataDir) {
    try {
      const tail = readFileSync(join(dataDir, 'server.log'), 'utf8').split('\n').slice(-20).join('\n');
      log('--- server log (last lines) ---\n' + tail);
    } catch {
      // no log
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  exitCode = failures > 0 ? 1 : 0;
  log(`${passed} passed, ${failures} failed`);
}
process.exit(exitCode);
