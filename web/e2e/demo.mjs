// Starts `shadower demo` for the measurement scripts and stops it with them.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

let server = null;

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

/** The running demo's process, or null. */
export function demoProcess() {
  return server;
}

/** Stops the demo, if it runs. */
export function stopDemo() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopDemo();
    process.exit(130);
  });
}
process.on('exit', () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
});

/**
 * Starts `bin demo` on a free port (or PORT) and resolves, once the backfill
 * is done, with the dashboard URL, the server's origin and the operator key.
 */
export async function startDemo(bin, log) {
  const port = Number(process.env.PORT ?? 0) || (await freePort());
  log(`starting ${bin} demo on 127.0.0.1:${port}`);
  const began = Date.now();
  server = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', () => {}); // drain
  return new Promise((res, rej) => {
    let buf = '';
    let dashboard = null;
    const timer = setTimeout(() => rej(new Error('no Dashboard/Operator key lines after 180 s')), 180_000);
    server.once('exit', (code, sig) => rej(new Error(`demo exited (code ${code}, signal ${sig})`)));
    server.stdout.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let m;
        if ((m = /^Dashboard:\s+(\S+)/.exec(line))) dashboard = m[1];
        if ((m = /^Operator key:\s+(\S+)/.exec(line)) && dashboard) {
          clearTimeout(timer);
          log(`demo ready after ${((Date.now() - began) / 1000).toFixed(1)} s`);
          res({ dashboard, base: new URL(dashboard).origin, operatorKey: m[1] });
        }
      }
    });
  });
}
