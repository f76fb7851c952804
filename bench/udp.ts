/**
 * The batched-UDP benchmark: datagrams per second from one worker thread to another over IPv4
 * loopback, 1400-byte datagrams, with Node's `dgram` (the baseline: one system call and one
 * JavaScript callback per datagram) against pktkit/udp (recvmmsg/sendmmsg of 64 per call), with
 * GSO and GRO off, GSO alone, and both. Target from the native-addon issue: at least 3x dgram.
 *
 *   npm run build:all && node build/bench/udp.js [--rounds 5] [--warmup 300] [--duration 2000] [--write-docs]
 *
 * `--write-docs` rewrites the section of docs/BENCHMARKS.md between the bench:udp markers.
 *
 * Each round of a row spawns a receiver and a sender worker, lets them run `warmup` ms, then
 * reads the receiver's count (a shared counter it publishes per batch) and the process's CPU time
 * at the start and the end of `duration` ms. Rounds are interleaved (round 1 of every row, then
 * round 2...), so a row and the baseline run back to back; a row's ratio is the median of its
 * per-round ratios, the only comparison that holds on this noisy 2-vCPU machine.
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { countWindow } from './crosscore.js';
import { machineLine, median, runRounds, writeDocsSection } from './harness.js';
import { PHASE, RECEIVED, STOP, type UdpBenchKind, type UdpRole } from './udp-ctl.js';

const ENTRY = new URL('./udp-roles.js', import.meta.url);
const SIZE = 1400;
const WINDOW = 2048;
const BATCH = 64;
const TARGET = 3;

interface RowSpec {
  label: string;
  kind: UdpBenchKind;
  gso: boolean;
  gro: boolean;
}

const ROWS: RowSpec[] = [
  { label: 'node:dgram (baseline)', kind: 'dgram', gso: false, gro: false },
  { label: 'pktkit/udp, GSO off, GRO off', kind: 'batched', gso: false, gro: false },
  { label: 'pktkit/udp, GSO on, GRO off', kind: 'batched', gso: true, gro: false },
  { label: 'pktkit/udp, GSO on, GRO on', kind: 'batched', gso: true, gro: true },
];

interface RoundResult {
  rate: number;
  cpuNsPerDatagram: number;
  coresBusy: number;
  /** CPU other processes used meanwhile, in cores. */
  otherLoad: number;
  }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spawn(data: UdpRole): { worker: Worker; port: Promise<number>; done: Promise<{ stats?: Record<string, number> }> } {
  const worker = new Worker(ENTRY, { workerData: data });
  let gotPort: (p: number) => void = () => {};
  const port = new Promise<number>((r) => (gotPort = r));
  const done = new Promise<{ stats?: Record<string, number> }>((resolve, reject) => {
    worker.on('message', (m: { port?: number; done?: boolean; stats?: Record<string, number> }) => {
      if (m.port !== undefined) gotPort(m.port);
      if (m.done === true) resolve(m);
    });
    worker.once('error', reject);
  });
  return { worker, port, done };
}

async function round(spec: RowSpec, warmupMs: number, durationMs: number): Promise<RoundResult> {
  const ctl = new SharedArrayBuffer(128);
  const cells = new Int32Array(ctl);
  const base = { kind: spec.kind, size: SIZE, window: WINDOW, batch: BATCH, gso: spec.gso, gro: spec.gro, ctl };
  const rx = spawn({ ...base, role: 'recv' });
  const port = await rx.port;
  const tx = spawn({ ...base, role: 'send', port });
  try {
    await sleep(warmupMs);
    const w = await countWindow(cells, RECEIVED, durationMs);
    Atomics.store(cells, PHASE, STOP);
    Atomics.notify(cells, RECEIVED);
    await Promise.all([tx.done, rx.done]);
    return { rate: w.rate, cpuNsPerDatagram: w.n > 0 ? w.cpuNs / w.n : 0, coresBusy: w.coresBusy, otherLoad: w.otherLoad };
  } finally {
    await Promise.all([tx.worker.terminate(), rx.worker.terminate()]);
  }
}

function fmtRate(r: number): string {
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(0)} k/s`;
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '300' },
    duration: { type: 'string', default: '2000' },
    'write-docs': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const warmupMs = Number(values.warmup);
const durationMs = Number(values.duration);

const results = await runRounds(ROWS, rounds, (row) => round(row, warmupMs, durationMs), (row, res) => `${row.label}: ${fmtRate(res.rate)}`);

const base = results[0]!;
const lines = [
  '| Path | Datagrams/s (± spread) | Gbit/s | CPU ns/datagram (cores busy) | Other load | vs node:dgram |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
];
let worstGsoRatio = Infinity;
let plainRatio = 0;
for (let i = 0; i < ROWS.length; i++) {
  const rs = results[i]!;
  const rates = rs.map((x) => x.rate);
  const med = median(rates);
  const spread = med > 0 ? (Math.max(...rates) - Math.min(...rates)) / med : 0;
  const ratio = i === 0 ? 0 : median(rs.map((x, k) => x.rate / base[k]!.rate));
  if (i > 0 && ROWS[i]!.gso) worstGsoRatio = Math.min(worstGsoRatio, ratio);
  if (i > 0 && !ROWS[i]!.gso) plainRatio = ratio;
  const cpu = median(rs.map((x) => x.cpuNsPerDatagram));
  const busy = median(rs.map((x) => x.coresBusy));
  const other = Math.max(...rs.map((x) => x.otherLoad));
  lines.push(
    `| ${ROWS[i]!.label} | ${fmtRate(med)} ±${(spread * 100).toFixed(0)}% | ${((med * SIZE * 8) / 1e9).toFixed(2)} | ${cpu.toFixed(0)} (${busy.toFixed(2)}) | ${other.toFixed(2)} | ${i === 0 ? '' : `${ratio.toFixed(2)}x`} |`,
  );
}
const met = (x: number) => (x >= TARGET ? 'yes' : '**NO**');
const targets = [
  '',
  '| Target | This run | Met |',
  '| --- | --- | --- |',
  `| Batched UDP at least ${TARGET}x node:dgram (with the kernel's offloads: GSO, GRO) | ${worstGsoRatio.toFixed(2)}x (worst GSO row) | ${met(worstGsoRatio)} |`,
  `| The same without offloads (recvmmsg/sendmmsg alone) | ${plainRatio.toFixed(2)}x | ${met(plainRatio)} |`,
];
const machine = machineLine();
const cmd = `    node build/bench/udp.js --rounds ${rounds} --warmup ${warmupMs} --duration ${durationMs} --write-docs`;
const table = [...lines, ...targets].join('\n');
console.log(`\n## Batched UDP\n\n${machine}\n\n${table}\n`);

if (values['write-docs']) await writeDocsSection('udp', `Measured: ${machine}\n\n${cmd}\n\n${table}`);
