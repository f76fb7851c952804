/**
 * vclient end to end, real time: bulk TCP and the flow set-up rate (dial, accept, one byte back,
 * close) on three paths, in rounds, the order rotated each round:
 *
 *   vclient <-> vclient     two Clients joined back to back in this thread (each one's output is
 *                           the other's `send`): the whole virtual path, twice per byte
 *   vclient -> slirp        a Client attached to a slirp Stack (both in this thread), the Stack's
 *                           real sockets to servers on 127.0.0.1 (in a worker thread): issue 7's
 *                           "vclient to slirp" rows
 *                           (at MTU 1500, and 65520: the Stack's MSS follows the Client's MTU)
 *   node:net (baseline)     this thread's own sockets to the same servers: what the kernel alone
 *                           costs, the ceiling for the slirp path
 *
 * Run: `node build/bench/vclient-throughput.js [--mb 256] [--flows 2000] [--rounds 3] [--write-docs]`
 * (`--write-docs` rewrites the bench:vclient-e2e section of docs/BENCHMARKS.md).
 */

import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { connectL3 } from '../src/core/connect.js';
import { Stack } from '../src/slirp/stack.js';
import { Client } from '../src/vclient/client.js';
import type { Conn } from '../src/vtcp/conn.js';
import { machineLine, median, writeDocsSection } from './harness.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '256' },
    flows: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    'write-docs': { type: 'boolean', default: false },
  },
});
const totalBytes = Number(values.mb) * 1024 * 1024;
const flows = Number(values.flows);
const rounds = Number(values.rounds);

/** The real servers, in a worker so that their work is not on the measured thread: a sink and a one-byte server. */
const SERVERS = `
  const net = require('node:net');
  const { parentPort } = require('node:worker_threads');
  const sink = net.createServer((s) => { s.on('error', () => {}); s.on('data', () => {}); s.on('end', () => s.end()); });
  const one = net.createServer((s) => { s.on('error', () => {}); s.end('k'); });
  one.maxConnections = 100000;
  sink.listen(0, '127.0.0.1', () => one.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
    parentPort.postMessage({ sink: sink.address().port, one: one.address().port })));
  parentPort.on('message', () => { sink.close(); one.close(); parentPort.close(); });
`;

interface Dialer {
  dial(port: number): Promise<net.Socket | Conn>;
  close(): void;
}

/** A Client behind a slirp Stack: 10.0.0.1 is the host's loopback. */
function viaSlirp(mtu = 1500): Dialer {
  const stack = new Stack({ addr: '10.0.0.1/24', hostLoopback: true, limits: { maxFlows: 8192 } });
  const client = new Client({ addr: '10.0.0.2/24', gateway: '10.0.0.1', mtu });
  const detach = stack.connectL3(client);
  return {
    dial: (port) => client.dial('tcp', `10.0.0.1:${port}`),
    close: () => {
      client.close();
      (detach as () => void)();
      void stack.close();
    },
  };
}

function direct(): Dialer {
  return {
    dial: (port) =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      }),
    close: () => {},
  };
}

/** Writes `totalBytes` in 64 KiB chunks, ends, waits for the server's end. Returns Gbit/s. */
async function bulkTo(d: Dialer, port: number): Promise<number> {
  const conn = await d.dial(port);
  conn.on('error', () => {});
  conn.resume();
  const ended = new Promise((r) => conn.once('end', r));
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < totalBytes) {
        sent += chunk.length;
        if (!conn.write(chunk)) return;
      }
      conn.off('drain', pump);
      conn.end();
      resolve();
    };
    conn.on('drain', pump);
    pump();
  });
  await ended;
  const s = (performance.now() - start) / 1000;
  conn.destroy();
  return (totalBytes * 8) / s / 1e9;
}

/** Bulk between two Clients joined back to back (both stacks in this thread). */
async function bulkPair(): Promise<number> {
  const a = new Client({ addr: '10.0.0.1/24' });
  const b = new Client({ addr: '10.0.0.2/24' });
  connectL3(a, b);
  b.listen(5001).on('connection', (c: Conn) => {
    c.on('error', () => {});
    c.on('data', () => {});
    c.on('end', () => c.end());
  });
  const d: Dialer = { dial: (port) => a.dial('tcp', `10.0.0.2:${port}`), close: () => {} };
  const g = await bulkTo(d, 5001);
  a.close();
  b.close();
  return g;
}

/** `flows` cycles of dial, read one byte, close, 200 at a time. Returns flows per second. */
async function setupRate(d: Dialer, port: number): Promise<number> {
  const start = performance.now();
  const batch = 200;
  for (let i = 0; i < flows; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, flows - i) }, async () => {
        const c = await d.dial(port);
        c.on('error', () => {});
        c.resume();
        await new Promise((r) => c.once('end', r));
        c.destroy();
      }),
    );
  }
  return flows / ((performance.now() - start) / 1000);
}

async function setupPair(): Promise<number> {
  const a = new Client({ addr: '10.0.0.1/24' });
  const b = new Client({ addr: '10.0.0.2/24' });
  connectL3(a, b);
  b.listen(80, { backlog: 4096, acceptQueue: 4096 }).on('connection', (c: Conn) => {
    c.on('error', () => {});
    c.end('k');
  });
  const r = await setupRate({ dial: (port) => a.dial('tcp', `10.0.0.2:${port}`), close: () => {} }, 80);
  a.close();
  b.close();
  return r;
}

const worker = new Worker(SERVERS, { eval: true });
const ports = await new Promise<{ sink: number; one: number }>((r) => worker.once('message', r));
/** A path through a fresh Client and slirp Stack per measurement, at the Client's `mtu`. */
function slirpPath(name: string, mtu: number) {
  const withStack = async (run: (d: Dialer) => Promise<number>): Promise<number> => {
    const d = viaSlirp(mtu);
    try {
      return await run(d);
    } finally {
      d.close();
    }
  };
  return { name, bulk: () => withStack((d) => bulkTo(d, ports.sink)), setup: () => withStack((d) => setupRate(d, ports.one)), gbits: [] as number[], rate: [] as number[] };
}

const paths = [
  { name: 'vclient <-> vclient (both in this thread)', bulk: bulkPair, setup: setupPair, gbits: [] as number[], rate: [] as number[] },
  slirpPath('vclient -> slirp -> 127.0.0.1 (vclient and slirp in this thread)', 1500),
  slirpPath('vclient -> slirp -> 127.0.0.1, virtual MTU 65520', 65520),
  { name: 'node:net -> 127.0.0.1 (baseline: the kernel alone)', bulk: () => bulkTo(direct(), ports.sink), setup: () => setupRate(direct(), ports.one), gbits: [] as number[], rate: [] as number[] },
];
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < paths.length; i++) {
    const p = paths[(i + round) % paths.length]!;
    p.gbits.push(await p.bulk());
    p.rate.push(await p.setup());
    console.error(`round ${round + 1}/${rounds}: ${p.name}: ${p.gbits.at(-1)!.toFixed(2)} Gbit/s, ${p.rate.at(-1)!.toFixed(0)} flows/s`);
  }
}
worker.postMessage('stop');
await worker.terminate();

const base = paths[3]!;
const lines = [
  `Measured: ${machineLine()}`,
  '',
  `    node build/bench/vclient-throughput.js --mb ${values.mb} --flows ${flows} --rounds ${rounds}${values['write-docs'] ? ' --write-docs' : ''}`,
  '',
  `| Path | Bulk Gbit/s (median, min - max) | vs node:net | Flow set-ups/s (median) | vs node:net |`,
  '| --- | ---: | ---: | ---: | ---: |',
  ...paths.map((p) => {
    const g = median(p.gbits);
    const r = median(p.rate);
    return `| ${p.name} | ${g.toFixed(2)} (${Math.min(...p.gbits).toFixed(2)} - ${Math.max(...p.gbits).toFixed(2)}) | ${p === base ? 'baseline' : `${(g / median(base.gbits)).toFixed(2)}x`} | ${r.toFixed(0)} | ${p === base ? 'baseline' : `${(r / median(base.rate)).toFixed(2)}x`} |`;
  }),
];
const body = lines.join('\n');
console.log(body);
if (values['write-docs']) await writeDocsSection('vclient-e2e', body);
