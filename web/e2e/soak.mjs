// Soak test of the dashboard: does a page left open for an hour keep its memory?
//
//   SHADOWER_BIN=/path/to/shadower DURATION_MIN=60 node e2e/soak.mjs     (default: ../shadower from web/)
//
// Starts `shadower demo` on a free port (or PORT), opens the dashboard (24h
// view, 1440x900) in headless Chromium and leaves it open for DURATION_MIN
// minutes (default 60). The demo's live traffic follows a daily cycle and is
// nearly silent at night, so unless SYNTHETIC=0 the script also posts, every
// second, one queued+started execution and the completion of the previous one
// (workspace acme, agent soak-synthetic, timestamps = now) to the same server:
// the page then gets a realtime update about every second and refreshes its
// metrics every few seconds, as on a busy day.
//
// Every 60 s it samples, over CDP (Performance.getMetrics): JSHeapUsedSize,
// JSHeapTotalSize, Nodes, JSEventListeners, Documents; performance.memory when
// present; the RSS (VmRSS) and PSS of the browser's processes, summed, and of
// the renderer alone; and how many WebSocket execution_update messages arrived
// since the last sample. At the end it forces a GC (HeapProfiler.collectGarbage)
// and samples once more. With GC_EACH=1 every sample also forces a GC right
// after the regular reading and records what survives it (the retained_*
// columns), so the trend of the retained heap shows a leak, if any, without
// the collector's timing in it. Rows go to e2e/screenshots/soak.csv (or CSV) as
// they are taken; a summary is printed at the end.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { demoProcess, startDemo, stopDemo } from './demo.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const webDir = resolve(here, '..');
const bin = resolve(webDir, process.env.SHADOWER_BIN ?? '../shadower');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const DURATION_MIN = Number(process.env.DURATION_MIN ?? 60);
const SAMPLE_MS = Number(process.env.SAMPLE_S ?? 60) * 1000;
const SYNTHETIC = process.env.SYNTHETIC !== '0';
const GC_EACH = process.env.GC_EACH === '1';
const csvPath = resolve(webDir, process.env.CSV ?? join(here, 'screenshots', 'soak.csv'));
const WS_ID = 'acme';
const SYN_AGENT = 'soak-synthetic';

let browser = null;
const log = (...a) => console.log(`[${new Date().toISOString()}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


/** Pids of root and all its descendants, from /proc. */
function processTree(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const unvisited = [root];
  while (unvisited.length) {
    const p = unvisited.pop();
    out.push(p);
    unvisited.push(...(children.get(p) ?? []));
  }
  return out;
}

function kbField(text, name) {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** The Chromium processes this script started: descendants of this process whose command is chromium. */
function browserPids() {
  const skip = new Set(demoProcess()?.pid ? processTree(demoProcess().pid) : []);
  return processTree(process.pid).filter((pid) => {
    if (pid === process.pid || skip.has(pid)) return false;
    try {
      return /chrom/i.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]);
    } catch {
      return false;
    }
  });
}

/** RSS and PSS (kB) of the browser's processes, summed, and of its renderers. */
function browserMemory() {
  const r = { procs: 0, rssKb: 0, pssKb: 0, rendererRssKb: 0, rendererPssKb: 0 };
  for (const pid of browserPids()) {
    try {
      const rss = kbField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
      let pss = 0;
      try {
        pss = kbField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
      } catch {
        // not readable
      }
      const renderer = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer');
      r.procs++;
      r.rssKb += rss;
      r.pssKb += pss;
      if (renderer) {
        r.rendererRssKb += rss;
        r.rendererPssKb += pss;
      }
    } catch {
      // gone meanwhile
    }
  }
  return r;
}

const MB = (bytes) => bytes / (1024 * 1024);
const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '' : Number(x).toFixed(d));

async function main() {
  const { dashboard, base, operatorKey } = await startDemo(bin, log);
  log(`dashboard ready: ${base}`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();

  // Counters since the last sample.
  const c = { updates: 0, completedMsgs: 0, otherMsgs: 0, requests: 0, posted: 0, postErrors: 0, wsOpened: 0, pageErrors: 0 };
  const total = { updates: 0, wsOpened: 0, pageErrors: 0, postErrors: 0, posted: 0 };
  page.on('websocket', (ws) => {
    c.wsOpened++;
    total.wsOpened++;
    ws.on('framereceived', ({ payload }) => {
      let type = null;
      try {
        type = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8')).type;
      } catch {
        // not JSON
      }
      if (type === 'execution_update') {
        c.updates++;
        total.updates++;
      } else if (type === 'execution_completed') c.completedMsgs++;
      else c.otherMsgs++;
    });
  });
  page.on('request', () => c.requests++);
  page.on('pageerror', (e) => {
    c.pageErrors++;
    total.pageErrors++;
    log(`page error: ${e.message}`);
  });

  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');

  await page.goto(dashboard);
  await page.getByRole('region', { name: 'Throughput' }).locator('canvas').waitFor({ timeout: 30_000 });
  await page.getByRole('status', { name: 'Connection: Live' }).waitFor({ timeout: 30_000 });
  log('dashboard complete and live');

  // Synthetic traffic: each second, queue+start execution n and complete n-1.
  let seq = 0;
  let prevExec = null;
  const runId = Date.now().toString(36);
  let posting = false;
  const postTick = async () => {
    if (posting) return; // never pile up behind a slow answer
    posting = true;
    try {
      const now = new Date().toISOString();
      const id = `soak-${runId}-${seq++}`;
      const ev = (type, execId) => ({
        event_id: `${execId}-${type}`,
        type,
        execution_id: execId,
        workspace_id: WS_ID,
        agent_id: SYN_AGENT,
        timestamp: now,
      });
      const events = [ev('queued', id), ev('started', id)];
      if (prevExec) events.push(ev('completed', prevExec));
      const res = await fetch(`${base}/api/v1/events`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${operatorKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(events),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok || body?.accepted !== events.length) {
        c.postErrors++;
        total.postErrors++;
        if (total.postErrors <= 5) log(`post: ${res.status} ${JSON.stringify(body)}`);
      } else {
        c.posted += events.length;
        total.posted += events.length;
        prevExec = id;
      }
    } catch (e) {
      c.postErrors++;
      total.postErrors++;
      if (total.postErrors <= 5) log(`post failed: ${e.message}`);
    } finally {
      posting = false;
    }
  };
  const poster = SYNTHETIC ? setInterval(postTick, 1000) : null;

  const header = [
    'minute', 'label', 'elapsed_s', 'js_heap_used_mb', 'js_heap_total_mb', 'perf_memory_used_mb', 'dom_nodes', 'js_event_listeners',
    'documents', 'browser_procs', 'browser_rss_mb', 'browser_pss_mb', 'renderer_rss_mb', 'renderer_pss_mb',
    'retained_heap_mb', 'retained_nodes', 'retained_listeners',
    'updates', 'completed_msgs', 'other_ws_msgs', 'http_requests', 'events_posted', 'post_errors', 'ws_opened', 'page_errors',
  ];
  mkdirSync(dirname(csvPath), { recursive: true });
  writeFileSync(csvPath, header.join(',') + '\n');
  const rows = [];
  const t0 = Date.now();

  const sample = async (minute, label) => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    const pm = await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize : null));
    const mem = browserMemory();
    const row = {
      minute,
      label,
      elapsed_s: (Date.now() - t0) / 1000,
      js_heap_used_mb: MB(m.JSHeapUsedSize),
      js_heap_total_mb: MB(m.JSHeapTotalSize),
      perf_memory_used_mb: pm === null ? null : MB(pm),
      dom_nodes: m.Nodes,
      js_event_listeners: m.JSEventListeners,
      documents: m.Documents,
      browser_procs: mem.procs,
      browser_rss_mb: mem.rssKb / 1024,
      browser_pss_mb: mem.pssKb / 1024,
      renderer_rss_mb: mem.rendererRssKb / 1024,
      renderer_pss_mb: mem.rendererPssKb / 1024,
      updates: c.updates,
      completed_msgs: c.completedMsgs,
      other_ws_msgs: c.otherMsgs,
      http_requests: c.requests,
      events_posted: c.posted,
      post_errors: c.postErrors,
      ws_opened: c.wsOpened,
      page_errors: c.pageErrors,
    };
    for (const k of Object.keys(c)) c[k] = 0;
    if (GC_EACH) {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics: after } = await cdp.send('Performance.getMetrics');
      const a = Object.fromEntries(after.map((x) => [x.name, x.value]));
      row.retained_heap_mb = MB(a.JSHeapUsedSize);
      row.retained_nodes = a.Nodes;
      row.retained_listeners = a.JSEventListeners;
    }
    rows.push(row);
    const cells = header.map((h) => {
      const v = row[h];
      if (typeof v === 'number' && !Number.isInteger(v)) return fmt(v, h === 'elapsed_s' ? 0 : 2);
      return v ?? '';
    });
    appendFileSync(csvPath, cells.join(',') + '\n');
    log(
      `min ${String(minute).padStart(2)} ${label.padEnd(8)} heap ${fmt(row.js_heap_used_mb, 2)} MB (total ${fmt(row.js_heap_total_mb)}), ` +
        `nodes ${row.dom_nodes}, listeners ${row.js_event_listeners}, rss ${fmt(row.browser_rss_mb)} MB (renderer ${fmt(row.renderer_rss_mb)}), ` +
        (GC_EACH ? `retained ${fmt(row.retained_heap_mb, 2)} MB / ${row.retained_nodes} nodes, ` : '') +
        `updates ${row.updates}, requests ${row.http_requests}, posted ${row.events_posted}`,
    );
    return row;
  };

  // Minute 0 counts what arrived while the page opened; later rows count the minute before them.
  if (GC_EACH) await cdp.send('HeapProfiler.enable');
  await sample(0, 'open');
  for (let k = 1; k <= DURATION_MIN; k++) {
    const due = t0 + k * SAMPLE_MS;
    await sleep(Math.max(0, due - Date.now()));
    await sample(k, 'live');
  }
  if (poster) clearInterval(poster);
  while (posting) await sleep(50);
  // Let the last throttled metrics refresh land before collecting.
  await sleep(10_000);

  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  await sleep(2000);
  await cdp.send('HeapProfiler.collectGarbage');
  await sleep(1000);
  const gc = await sample(DURATION_MIN, 'after_gc');

  const live = rows.filter((r) => r.label !== 'after_gc');
  const first = live[0];
  const last = live[live.length - 1];
  const max = (k) => Math.max(...live.map((r) => r[k]));
  const perMin = live.slice(1).map((r) => r.updates);
  log('--- summary ---');
  log(`duration ${DURATION_MIN} min, samples every ${SAMPLE_MS / 1000} s, synthetic events ${SYNTHETIC ? 'on' : 'off'} (${total.posted} posted, ${total.postErrors} errors)`);
  log(`JS heap used (MB): first ${fmt(first.js_heap_used_mb, 2)}, last ${fmt(last.js_heap_used_mb, 2)}, max ${fmt(max('js_heap_used_mb'), 2)}, after forced GC ${fmt(gc.js_heap_used_mb, 2)}`);
  log(`DOM nodes: first ${first.dom_nodes}, last ${last.dom_nodes}, max ${max('dom_nodes')}, after forced GC ${gc.dom_nodes}`);
  log(`JS event listeners: first ${first.js_event_listeners}, last ${last.js_event_listeners}, max ${max('js_event_listeners')}, after forced GC ${gc.js_event_listeners}`);
  log(`browser RSS (MB, ${last.browser_procs} processes): first ${fmt(first.browser_rss_mb)}, last ${fmt(last.browser_rss_mb)}, max ${fmt(max('browser_rss_mb'))}, after forced GC ${fmt(gc.browser_rss_mb)}`);
  if (GC_EACH) {
    log(`retained JS heap after each forced GC (MB): first ${fmt(first.retained_heap_mb, 2)}, last ${fmt(last.retained_heap_mb, 2)}, min ${fmt(Math.min(...live.map((r) => r.retained_heap_mb)), 2)}, max ${fmt(max('retained_heap_mb'), 2)}`);
  }
  log(`renderer RSS (MB): first ${fmt(first.renderer_rss_mb)}, last ${fmt(last.renderer_rss_mb)}, max ${fmt(max('renderer_rss_mb'))}, after forced GC ${fmt(gc.renderer_rss_mb)}`);
  if (perMin.length) {
    log(`execution_update per minute: min ${Math.min(...perMin)}, median ${perMin.slice().sort((a, b) => a - b)[Math.floor(perMin.length / 2)]}, max ${Math.max(...perMin)}, total ${total.updates}`);
  }
  log(`WebSockets opened ${total.wsOpened}, page errors ${total.pageErrors}`);
  log(`csv: ${csvPath}`);
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
