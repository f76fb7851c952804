/**
 * One million datagrams over loopback between two worker threads, counted exactly: every
 * sequence number once, none twice, none lost. No loss holds because the sender keeps at most
 * 2048 datagrams in flight (a window over the receiver's published count, million-worker.ts)
 * and the receiver's SO_RCVBUF (4 MiB, forced past rmem_max, doubled by the kernel) holds them.
 * IPv4 and IPv6; GSO and GRO off, both on (the kernel passes GSO runs to a GRO socket whole on
 * loopback), and GSO without GRO (the kernel splits the runs on receive).
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import type { MillionReport, MillionRole } from './million-worker.js';

const COUNT = 1_000_000;
const SIZE = 1400;
const WINDOW = 2048;
const ENTRY = new URL('./million-worker.js', import.meta.url);

function run(data: MillionRole): { worker: Worker; port: Promise<number>; report: Promise<MillionReport> } {
  const worker = new Worker(ENTRY, { workerData: data });
  let gotPort: (p: number) => void = () => {};
  const port = new Promise<number>((resolve) => (gotPort = resolve));
  const report = new Promise<MillionReport>((resolve, reject) => {
    worker.on('message', (m: { port?: number } | MillionReport) => ('port' in m && m.port !== undefined ? gotPort(m.port) : resolve(m as MillionReport)));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the ${data.role} worker exited (${code}) before reporting`)));
  });
  return { worker, port, report };
}

const flow = test.macro({
  async exec(t, family: 4 | 6, gso: boolean, gro: boolean) {
    const ctl = new SharedArrayBuffer(64);
    const base = { family, count: COUNT, size: SIZE, window: WINDOW, gso, gro, ctl };
    const rx = run({ ...base, role: 'recv' });
    t.teardown(() => rx.worker.terminate());
    const port = await rx.port;
    const tx = run({ ...base, role: 'send', port });
    t.teardown(() => tx.worker.terminate());
    const [s, r] = await Promise.all([tx.report, rx.report]);
    t.log(
      `IPv${family} gso=${gso} gro=${gro}: ${(COUNT / (r.ms / 1000) / 1e6).toFixed(2)} M datagrams/s; ` +
        `send calls ${s.stats.txCalls} (${s.stats.txMessages} messages), recv calls ${r.stats.rxCalls} (${r.stats.rxMessages} entries); rcvbuf ${String(r.offloads.recvBufferSize)}`,
    );
    t.is(r.received, COUNT, 'every sequence number arrived');
    t.is(r.duplicates, 0);
    t.is(r.outOfRange, 0);
    t.is(r.badSize, 0, 'every datagram kept its size (GRO entries split exactly)');
    t.is(s.stats.txDatagrams, COUNT);
    t.is(s.stats.txErrors, 0);
    t.is(r.stats.rxDatagrams, COUNT);
    t.is(r.stats.rxTruncated, 0);
    t.true(Number(r.offloads.recvBufferSize) >= 8 << 20, 'SO_RCVBUFFORCE took the buffer past rmem_max');
    if (gso) {
      t.true(s.offloads.gso === true);
      t.true(s.stats.txMessages! < COUNT / 10, 'GSO joined the datagrams into runs');
    } else {
      t.is(s.stats.txMessages, COUNT, 'one message per datagram');
    }
    if (gro && gso) t.true(r.stats.rxMessages! < COUNT / 10, 'GRO passed the runs up whole');
    if (!gro) t.is(r.stats.rxMessages, COUNT);
  },
  title: (_ = '', family: 4 | 6, gso: boolean, gro: boolean) => `1M datagrams over IPv${family} loopback between two threads, GSO ${gso ? 'on' : 'off'}, GRO ${gro ? 'on' : 'off'}: counted exactly`,
});

test.serial(flow, 4, false, false);
test.serial(flow, 4, true, true);
test.serial(flow, 4, true, false);
test.serial(flow, 6, false, false);
test.serial(flow, 6, true, true);
