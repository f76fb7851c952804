/**
 * vtcp bulk throughput (issue 6's target: at least 1 Gbit/s between two endpoints in one process):
 *
 *   - one thread: two TcpStacks on PipeL3s joined back to back, a Conn (node:stream Duplex) at
 *     each end, MTU 1500 and 9000;
 *   - two workers: each stack in its own worker_thread, packets through a pair of SPSC rings in
 *     SharedArrayBuffers (RingL3Device, as the dataplane links engines), MTU 1500;
 *   - with `--tun` (root): the Linux kernel's TCP in a network namespace through a TUN, kernel ->
 *     vtcp and vtcp -> kernel (the interop test's setup, test/interop/vtcp.test.ts).
 *
 *   npx tsc -p tsconfig.json && node build/bench/vtcp-throughput.js [--bytes 100] [--rounds 3] [--tun] [--write-docs]
 *
 * Each row sends `--bytes` MiB one way through a Conn (64 KiB writes, back-pressure honoured) and
 * times the receiver from its first byte to the end of the stream; a row's figure is the median
 * of its rounds (min-max in brackets). `--write-docs` rewrites the section of docs/BENCHMARKS.md
 * between the bench:vtcp markers (adding a `## vtcp` heading before `## Notes` when missing).
 */
import { spawn, execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { DOORBELL_BYTES, createRing } from '../rings/index.js';
import { PipeL3 } from '../src/core/pipe.js';
import type { Conn } from '../src/vtcp/conn.js';
import { TcpStack } from '../src/vtcp/stack.js';
import { machineLine, median, writeDocsSection } from './harness.js';
import type { VtcpWorkerData } from './vtcp-throughput-worker.js';

const TARGET_MBIT = 1000;
const CHUNK = 64 * 1024;

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    tun: { type: 'boolean', default: false },
    'write-docs': { type: 'boolean', default: false },
  },
});
const MiB = Number(values.bytes);
const BYTES = MiB * 2 ** 20;
const ROUNDS = Number(values.rounds);

interface Run {
  mbit: number;
  retransmits: number;
}

async function sendAll(conn: Conn, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  let sent = 0;
  while (sent < bytes) {
    const n = Math.min(CHUNK, bytes - sent);
    sent += n;
    if (!conn.write(n === CHUNK ? chunk : chunk.subarray(0, n))) await new Promise((r) => conn.once('drain', r));
  }
  conn.end();
}

function countAll(conn: Conn): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve) => {
    let n = 0;
    let t0 = 0;
    conn.on('data', (b: Buffer) => {
      if (n === 0) t0 = performance.now();
      n += b.length;
    });
    conn.on('end', () => {
      resolve({ bytes: n, ms: performance.now() - t0 });
      conn.end();
    });
  });
}

/** Two stacks over joined PipeL3s in this thread. */
async function oneThread(mtu: number): Promise<Run> {
  const pa = new PipeL3();
  const pb = new PipeL3();
  pa.onSend = (p) => pb.inject(p);
  pb.onSend = (p) => pa.inject(p);
  const a = new TcpStack(pa, { addrs: ['10.0.0.1'], mtu });
  const b = new TcpStack(pb, { addrs: ['10.0.0.2'], mtu });
  const server = b.listen(5001);
  const accepted = server.accept();
  const conn = await a.dial('10.0.0.2', 5001);
  const peer = (await accepted)!;
  const counted = countAll(peer);
  await sendAll(conn, BYTES);
  const r = await counted;
  if (r.bytes !== BYTES) throw new Error(`one thread: received ${r.bytes} of ${BYTES} bytes`);
  const retransmits = a.stats().tcb.retransmits;
  a.close();
  b.close();
  return { mbit: (r.bytes * 8) / (r.ms / 1000) / 1e6, retransmits };
}

/** Each stack in its own worker, rings in SharedArrayBuffers between them. */
async function twoWorkers(mtu: number): Promise<Run> {
  const ab = createRing({ slots: 4096, slotSize: 2048, headroom: 64 });
  const ba = createRing({ slots: 4096, slotSize: 2048, headroom: 64 });
  const bellA = new SharedArrayBuffer(DOORBELL_BYTES);
  const bellB = new SharedArrayBuffer(DOORBELL_BYTES);
  const entry = new URL('./vtcp-throughput-worker.js', import.meta.url);
  const recvData: VtcpWorkerData = { role: 'receiver', out: ba, in: ab, bell: bellB, peerBell: bellA, bytes: BYTES, mtu, chunk: CHUNK };
  const sendData: VtcpWorkerData = { role: 'sender', out: ab, in: ba, bell: bellA, peerBell: bellB, bytes: BYTES, mtu, chunk: CHUNK };
  const receiver = new Worker(entry, { workerData: recvData });
  const messages = (w: Worker): ((pred: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>) => {
    const seen: Record<string, unknown>[] = [];
    const waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
    w.on('message', (m: Record<string, unknown>) => {
      const i = waiters.findIndex((x) => x.pred(m));
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
      else seen.push(m);
    });
    return (pred) => {
      const i = seen.findIndex(pred);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]!);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    };
  };
  const fromRecv = messages(receiver);
  await fromRecv((m) => m.ready === true);
  const sender = new Worker(entry, { workerData: sendData });
  const fromSend = messages(sender);
  const res = await fromRecv((m) => m.result !== undefined);
  await fromSend((m) => m.sent !== undefined);
  const r = res.result as { bytes: number; ms: number };
  if (r.bytes !== BYTES) throw new Error(`two workers: received ${r.bytes} of ${BYTES} bytes`);
  receiver.postMessage('stop');
  sender.postMessage('stop');
  await Promise.all([fromRecv((m) => m.done === true), fromSend((m) => m.done === true)]);
  await Promise.all([receiver.terminate(), sender.terminate()]);
  return { mbit: (r.bytes * 8) / (r.ms / 1000) / 1e6, retransmits: 0 };
}

/** The kernel through a TUN in a namespace (root): kernel -> vtcp when `dir` is 'in'. */
async function tun(dir: 'in' | 'out'): Promise<Run> {
  const { Tun } = await import('../src/tuntap/index.js');
  const ns = `pk-vtb-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const dev = await Tun.open({ name: `pkvb${process.pid % 10000}`, netns: ns, addrs: ['10.0.3.1/24'] });
    const stack = new TcpStack(dev, { addrs: ['10.0.3.2'] });
    try {
      if (dir === 'in') {
        const server = stack.listen(5001);
        const accepted = server.accept();
        const script = `const s=require('net').connect(5001,'10.0.3.2',()=>{const b=Buffer.alloc(${CHUNK},0x5a);let n=0;const go=()=>{while(n<${BYTES}){n+=${CHUNK};if(!s.write(b)){s.once('drain',go);return;}}s.end();};go();});s.resume();`;
        const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' });
        const peer = (await accepted)!;
        const r = await countAll(peer);
        await new Promise((res) => child.once('close', res));
        return { mbit: (r.bytes * 8) / (r.ms / 1000) / 1e6, retransmits: stack.stats().tcb.retransmits };
      }
      const script = `const srv=require('net').createServer((s)=>{let n=0,t0=0;s.on('data',(d)=>{if(n===0)t0=performance.now();n+=d.length;});s.on('end',()=>{console.log(JSON.stringify({n,ms:performance.now()-t0}));s.end();srv.close();});});srv.listen(5002,'10.0.3.1',()=>console.log('READY'));`;
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      const ready = new Promise<void>((res) => child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), out.includes('READY') && res())));
      const closed = new Promise((res) => child.once('close', res));
      await ready;
      const conn = await stack.dial('10.0.3.1', 5002);
      conn.resume();
      await sendAll(conn, BYTES);
      await closed;
      const r = JSON.parse(out.trim().split('\n').pop()!) as { n: number; ms: number };
      return { mbit: (r.n * 8) / (r.ms / 1000) / 1e6, retransmits: stack.stats().tcb.retransmits };
    } finally {
      stack.close();
      await dev.close();
    }
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

interface Row {
  label: string;
  run: () => Promise<Run>;
}

const rows: Row[] = [
  { label: 'one thread, two stacks over PipeL3s, MTU 1500 (MSS 1460)', run: () => oneThread(1500) },
  { label: 'one thread, two stacks over PipeL3s, MTU 9000', run: () => oneThread(9000) },
  { label: 'two workers, SPSC rings in a SharedArrayBuffer, MTU 1500', run: () => twoWorkers(1500) },
];
if (values.tun) {
  rows.push({ label: 'kernel -> vtcp through a TUN (kernel TCP in a netns), MTU 1500', run: () => tun('in') });
  rows.push({ label: 'vtcp -> kernel through a TUN, MTU 1500', run: () => tun('out') });
}

const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const row of rows) {
    const r = await row.run();
    const list = results.get(row.label) ?? [];
    list.push(r.mbit);
    results.set(row.label, list);
    console.error(`round ${round + 1}: ${row.label}: ${r.mbit.toFixed(0)} Mbit/s${r.retransmits > 0 ? ` (${r.retransmits} retransmits)` : ''}`);
  }
}

const lines = ['| Path | Mbit/s (median) | min - max |', '| --- | ---: | ---: |'];
for (const row of rows) {
  const xs = results.get(row.label)!;
  lines.push(`| ${row.label} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} - ${Math.max(...xs).toFixed(0)} |`);
}
const best = median(results.get(rows[0]!.label)!);
lines.push('', '| Target | This run | Met |', '| --- | --- | --- |');
lines.push(`| At least ${TARGET_MBIT} Mbit/s between two endpoints in one process (MTU 1500) | ${best.toFixed(0)} Mbit/s | ${best >= TARGET_MBIT ? 'yes' : '**NO**'} |`);
const machine = machineLine();
const cmd = `    node build/bench/vtcp-throughput.js --bytes ${MiB} --rounds ${ROUNDS}${values.tun ? ' --tun' : ''} --write-docs`;
const table = lines.join('\n');
console.log(`\n## vtcp\n\n${machine}\n\n${table}\n`);

if (values['write-docs']) await writeDocsSection('vtcp', `Measured: ${machine}\n\n${cmd}\n\n${table}`);
