/**
 * TUN throughput with the kernel on the other side (needs root: it makes a network namespace
 * and two TUN interfaces in it, and removes them at the end):
 *
 *   npm run build:all && PKTKIT_NATIVE_PATH=<a build with tuntap> node build/bench/tun.js [--write-docs] [--rounds 3]
 *
 * Write (pktkit -> kernel): IPv4/UDP packets written into `tw`, which the kernel receives and
 * drops on a blackhole route (forwarding on, so that nothing is answered); the kernel's own
 * receive counter of the interface (`ip -s link`) must match what was written.
 *   - `send, at once`: Tun.send with `sendBatch: 0`, one addon call and one write(2) per packet;
 *   - `send, gathered`: Tun.send as by default, copied into outgoing slots, written 64 per addon call;
 *   - `batch 64`: tuntapWriteSlots, 64 packets from ring-like slots per addon call (what the
 *     dataplane's I/O thread does), still one write(2) each (a TUN has no batched write).
 *
 * Read (kernel -> pktkit): `ta` and `tb` in one namespace, forwarding on; packets written into
 * `ta` are routed out of `tb`, whose queue (txqueuelen raised to hold them all) fills while
 * nobody reads. Then the timed part drains `tb`: so the read rows measure reading only.
 *   - `batch 64` / `batch 1`: tuntapReadSlots with 64 or 1 frame per addon call;
 *   - `Tun handler`: a standalone Tun whose handler counts, driven by its poller (waitFdsAsync).
 *
 * Through the dataplane (`I/O thread` rows): a TUN attached with `attachTun` to an engine on a
 * port worker. Write: the cross-core benchmark's generator, bursting 64 packets per round into
 * the port's ring, the I/O thread writing them to the TUN, the kernel counting them (1 s windows).
 * Read: this thread writes packets into `ta` (as above), the kernel forwards them out of the
 * attached TUN, the I/O thread puts them into the engine's ring, the sink counts them; the rate
 * is what arrived over the time from the first write to the last arrival. Three busy threads
 * (writer, I/O thread, port worker) share the two vCPUs here, with the kernel's forwarding.
 *
 * Each row runs `--rounds` times; the table gives the median in packets/s and Gbit/s of IP
 * packet bytes, and the spread between rounds.
 *
 * TCP through a relay (the second table; needs iperf3: `apt-get install iperf3`): two network
 * namespaces, each with a TUN whose descriptor stays in this process; two standalone `Tun`s on
 * this thread relay into each other (handler -> other.send: reads 64 per addon call, sends
 * gathered 64 per call), so the two kernels talk TCP through pktkit. iperf3 sends for
 * `--tcp-seconds` (the first second omitted) from one namespace to the other, in three setups,
 * interleaved round by round so that the ratios compare runs made moments apart:
 *   - `no vnet header`: plain TUNs; the sending kernel cuts TCP into MTU-sized packets;
 *   - `vnetHdr, rx 'segment'`: TSO offered, the kernel hands over 64 KiB super-packets with
 *     partial checksums, the addon segments them (and completes checksums) into MTU-sized
 *     packets, which the relay writes as plain packets;
 *   - `vnetHdr, rx 'raw'`: the relay passes super-packets whole, header included, to the other
 *     TUN, whose kernel takes them as they are (GRO-sized).
 * Reported: iperf3's received Gbit/s (median, and its ratio to `no vnet header` in the same
 * round), the CPU of this process (the relay: its user time plus the system time of its reads
 * and writes, which includes the kernels' work done in those calls) as a share of one core, the
 * CPU iperf3 reports for its sender and receiver, and the whole machine's busy share of its
 * vCPUs (/proc/stat).
 *
 *   node build/bench/tun.js --tcp-only [--tcp-seconds 4] [--rounds 3]   (prints, writes no docs)
 */

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { IO_STATS_LEN, tuntapNative } from '../src/tuntap/native.js';
import { Iface, Tun, attachTun, type VnetHdrOptions } from '../src/tuntap/index.js';
import os from 'node:os';
import { Dataplane } from '../src/dataplane/index.js';
import { emitIpv4, newIpv4Fields, IpProto } from '../src/wire/ipv4.js';
import { parseIPv4 } from '../src/wire/addr.js';
import { machineLine, median, writeDocsSection } from './harness.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'write-docs': { type: 'boolean', default: false },
    'tcp-only': { type: 'boolean', default: false },
    'tcp-seconds': { type: 'string', default: '4' },
  },
});
const ROUNDS = Number(values.rounds);
const TCP_SECONDS = Number(values['tcp-seconds']);
if (values['tcp-only'] && values['write-docs']) throw new Error('--write-docs rewrites the whole section: run without --tcp-only');
const n = tuntapNative();
const NS = `pk-bench-tun-${process.pid}`;
const SIZES = [64, 1400];
const SLOT = 2048;
const BATCH = 64;

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
}

/** An IPv4/UDP packet of `size` bytes from 10.0.1.2 to `dst`. */
function packet(size: number, dst: string): Uint8Array {
  const p = new Uint8Array(size);
  const f = newIpv4Fields();
  f.src = parseIPv4('10.0.1.2');
  f.dst = parseIPv4(dst);
  f.protocol = IpProto.UDP;
  f.payloadLen = size - 20;
  emitIpv4(f, p, 0);
  p[20] = 0x9c; // UDP 40000 -> 9, length, checksum 0 (none)
  p[21] = 0x40;
  p[23] = 9;
  p[24] = (size - 20) >> 8;
  p[25] = (size - 20) & 0xff;
  return p;
}

/** `count` copies of `p` in slots (as a ring's data and meta arrays). */
function slots(p: Uint8Array, count: number): { data: Uint8Array; meta: Int32Array } {
  const data = new Uint8Array(count * SLOT);
  const meta = new Int32Array(count * 2);
  for (let i = 0; i < count; i++) {
    data.set(p, i * SLOT + 64);
    meta[2 * i] = 64;
    meta[2 * i + 1] = p.length;
  }
  return { data, meta };
}

function kernelRx(dev: string): number {
  const j = JSON.parse(sh(['ip', '-n', NS, '-s', '-j', 'link', 'show', 'dev', dev])) as { stats64: { rx: { packets: number } } }[];
  return j[0]!.stats64.rx.packets;
}

interface Result {
  dir: string;
  row: string;
  size: number;
  pps: number;
  spread: number;
}
const results: Result[] = [];
const notes: string[] = [];

function record(dir: string, row: string, size: number, rates: number[]): void {
  const m = median(rates);
  const spread = (Math.max(...rates) - Math.min(...rates)) / m;
  results.push({ dir, row, size, pps: m, spread });
  console.log(`${dir} ${row.padEnd(15)} ${String(size).padStart(5)} B  ${(m / 1e3).toFixed(0).padStart(6)} kpps  ${((m * size * 8) / 1e9).toFixed(2)} Gbit/s  ±${(spread * 100).toFixed(0)}%`);
}

// ---- TCP between two namespaces through a pktkit relay, with and without the vnet header

interface TcpRun {
  gbps: number;
  relayCpu: number;
  senderCpu: number;
  receiverCpu: number;
  machineCpu: number;
  supers: number;
  largest: number;
}

interface TcpResult {
  row: string;
  gbps: number;
  ratio: number;
  relayCpu: number;
  senderCpu: number;
  receiverCpu: number;
  machineCpu: number;
  supers: number;
  largest: number;
  spread: number;
}

const TCP_SETUPS: { row: string; vnetHdr: false | VnetHdrOptions }[] = [
  { row: 'no vnet header', vnetHdr: false },
  { row: "vnetHdr, rx 'segment'", vnetHdr: { rx: 'segment' } },
  { row: "vnetHdr, rx 'raw'", vnetHdr: { rx: 'raw' } },
];

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineTicks(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return [total - f[3]! - f[4]!, total];
}

async function tcpRun(nsA: string, nsB: string, vnetHdr: false | VnetHdrOptions): Promise<TcpRun> {
  const a = await Tun.open({ name: 'pkbva', netns: nsA, addrs: ['10.0.1.1/24'], routes: ['10.0.2.0/24'], vnetHdr });
  const b = await Tun.open({ name: 'pkbvb', netns: nsB, addrs: ['10.0.2.1/24'], routes: ['10.0.1.0/24'], vnetHdr });
  try {
    let largest = 0;
    a.setHandler((f) => {
      if (f.length > largest) largest = f.length;
      b.send(f);
    });
    b.setHandler((f) => a.send(f));
    const client = spawn('ip', ['netns', 'exec', nsA, 'iperf3', '-c', '10.0.2.1', '-t', String(TCP_SECONDS), '-O', '1', '-J'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // iperf3 omits the first second and reports the rest: measure our CPU over that part too.
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = process.cpuUsage();
    const m0 = machineTicks();
    const t0 = performance.now();
    const code = await new Promise<number | null>((resolve) => client.on('exit', resolve));
    const wallUs = (performance.now() - t0) * 1000;
    const cpu = process.cpuUsage(cpu0);
    const m1 = machineTicks();
    if (code !== 0) throw new Error(`iperf3 client exited with ${code}: ${out.slice(0, 500)}`);
    const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number }; cpu_utilization_percent: { host_total: number; remote_total: number } } };
    return {
      gbps: j.end.sum_received.bits_per_second / 1e9,
      relayCpu: ((cpu.user + cpu.system) / wallUs) * 100,
      senderCpu: j.end.cpu_utilization_percent.host_total,
      receiverCpu: j.end.cpu_utilization_percent.remote_total,
      machineCpu: ((m1[0] - m0[0]) / (m1[1] - m0[1])) * 100,
      supers: a.stats().rxGso,
      largest,
    };
  } finally {
    await a.close();
    await b.close();
  }
}

async function tcpBench(): Promise<TcpResult[]> {
  const nsA = `${NS}-a`;
  const nsB = `${NS}-b`;
  for (const ns of [nsA, nsB]) {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const server = spawn('ip', ['netns', 'exec', nsB, 'iperf3', '-s'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const runs: TcpRun[][] = TCP_SETUPS.map(() => []);
    const ratios: number[][] = TCP_SETUPS.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < TCP_SETUPS.length; i++) {
        const x = await tcpRun(nsA, nsB, TCP_SETUPS[i]!.vnetHdr);
        runs[i]!.push(x);
        console.log(`tcp round ${r} ${TCP_SETUPS[i]!.row.padEnd(22)} ${x.gbps.toFixed(2)} Gbit/s  relay ${x.relayCpu.toFixed(0)}%  machine ${x.machineCpu.toFixed(0)}%  super-packets ${x.supers}  largest ${x.largest} B`);
      }
      for (let i = 0; i < TCP_SETUPS.length; i++) ratios[i]!.push(runs[i]![r]!.gbps / runs[0]![r]!.gbps);
    }
    return TCP_SETUPS.map((s, i) => {
      const xs = runs[i]!;
      const pick = (f: (x: TcpRun) => number): number => median(xs.map(f));
      const g = pick((x) => x.gbps);
      return {
        row: s.row,
        gbps: g,
        ratio: median(ratios[i]!),
        relayCpu: pick((x) => x.relayCpu),
        senderCpu: pick((x) => x.senderCpu),
        receiverCpu: pick((x) => x.receiverCpu),
        machineCpu: pick((x) => x.machineCpu),
        supers: pick((x) => x.supers),
        largest: Math.max(...xs.map((x) => x.largest)),
        spread: (Math.max(...xs.map((x) => x.gbps)) - Math.min(...xs.map((x) => x.gbps))) / g,
      };
    });
  } finally {
    server.kill();
    for (const ns of [nsA, nsB]) sh(['ip', 'netns', 'del', ns]);
  }
}

function tcpTable(rows: TcpResult[]): string {
  return [
    `| TCP through the relay (iperf3, ${TCP_SECONDS - 1} s) | Gbit/s | × no header | relay CPU (1 core = 100%) | iperf3 sender / receiver CPU | machine busy (${os.cpus().length} vCPU = 100%) | Gbit/s per busy vCPU | super-packets read | largest frame | ± |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.row} | ${r.gbps.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.relayCpu.toFixed(0)}% | ${r.senderCpu.toFixed(0)}% / ${r.receiverCpu.toFixed(0)}% | ${r.machineCpu.toFixed(0)}% | ${(r.gbps / ((r.machineCpu / 100) * os.cpus().length)).toFixed(2)} | ${r.supers} | ${r.largest} B | ${(r.spread * 100).toFixed(0)}% |`,
    ),
  ].join('\n');
}

// Checked first, so that a long run does not fail at its end.
try {
  execFileSync('iperf3', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('iperf3 is not installed: run `apt-get install iperf3` for the TCP rows');
}

if (values['tcp-only']) {
  const rows = await tcpBench();
  console.log(`\n${machineLine()}\n\n${tcpTable(rows)}\n`);
  process.exit(0);
}

sh(['ip', 'netns', 'add', NS]);
try {
  sh(['ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  sh(['ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  const nsPath = `/run/netns/${NS}`;

  // ---- write: pktkit -> kernel
  const tw = await Tun.open({ name: 'pkbtw', netns: NS, addrs: ['10.0.1.1/24'], sendBatch: 0 });
  const tg = await Tun.open({ name: 'pkbtg', netns: NS, addrs: ['10.0.4.1/24'] });
  const twIface = new Iface(n, 'pkbtw', nsPath);
  sh(['ip', '-n', NS, 'route', 'add', 'blackhole', '10.0.99.0/24']);
  const twFd = tw.fileDescriptors[0]!;
  const c = new Float64Array(IO_STATS_LEN);
  const timed = (dev: string, N: number, body: () => void): number => {
    const before = kernelRx(dev);
    const t0 = performance.now();
    body();
    const dt = performance.now() - t0;
    const got = kernelRx(dev) - before;
    if (got !== N) throw new Error(`the kernel counted ${got} of ${N} packets on ${dev}`);
    return N / (dt / 1000);
  };
  for (const size of SIZES) {
    const p = packet(size, '10.0.99.9');
    const N = 199_936; // a multiple of 64
    const nowRates: number[] = [];
    const gatherRates: number[] = [];
    const batchRates: number[] = [];
    const { data, meta } = slots(p, BATCH);
    for (let r = 0; r < ROUNDS; r++) {
      nowRates.push(timed('pkbtw', N, () => {
        for (let i = 0; i < N; i++) tw.send(p);
      }));
      gatherRates.push(timed('pkbtg', N, () => {
        for (let i = 0; i < N; i++) tg.send(p);
      }));
      batchRates.push(timed('pkbtw', N, () => {
        for (let i = 0; i < N; i += BATCH) n.tuntapWriteSlots(twFd, data, meta, SLOT, 0, BATCH, c);
      }));
    }
    record('write', 'send, at once', size, nowRates);
    record('write', 'send, gathered', size, gatherRates);
    record('write', 'batch 64', size, batchRates);
  }
  await tg.close();
  twIface.close();
  await tw.close();

  // ---- read: kernel -> pktkit
  const N = 20_000;
  const ta = await Tun.open({ name: 'pkbta', netns: NS, addrs: ['10.0.2.1/24'] });
  const taIface = new Iface(n, 'pkbta', nsPath);
  const opened = n.tuntapOpen({ name: 'pkbtb', tap: false, queues: 1, multiQueue: false, create: true, netns: nsPath });
  const tbFd = opened.fds[0]!;
  const tb = new Iface(n, 'pkbtb', nsPath);
  tb.setTxQueueLen(N + 1000);
  tb.addAddr('10.0.3.1/24');
  tb.setUp(true);
  const taFd = ta.fileDescriptors[0]!;
  const rd = new Uint8Array(BATCH * SLOT);
  const rmeta = new Int32Array(BATCH * 2);
  const rc = new Float64Array(IO_STATS_LEN);

  /** Queues N packets in tb (written into ta, forwarded by the kernel). */
  const prefill = (p: Uint8Array): void => {
    const { data, meta } = slots(p, BATCH);
    for (let i = 0; i < N; i += BATCH) n.tuntapWriteSlots(taFd, data, meta, SLOT, 0, BATCH, c);
    // Let the kernel finish forwarding.
    const until = performance.now() + 50;
    while (performance.now() < until);
  };
  const drain = (batch: number): number => {
    let got = 0;
    const t0 = performance.now();
    for (;;) {
      const k = n.tuntapReadSlots(tbFd, rd, rmeta, SLOT, 64, 0, batch, rc);
      if (k === 0) break;
      got += k;
    }
    const dt = performance.now() - t0;
    if (got < N * 0.99) throw new Error(`read ${got} of ${N} queued packets`);
    return got / (dt / 1000);
  };
  for (const size of SIZES) {
    const p = packet(size, '10.0.3.2');
    const b64: number[] = [];
    const b1: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      prefill(p);
      b64.push(drain(BATCH));
      prefill(p);
      b1.push(drain(1));
    }
    record('read', 'batch 64', size, b64);
    record('read', 'batch 1', size, b1);
  }
  // The standalone device: its poller wakes on readability, its handler counts.
  n.fdClose(tbFd);
  tb.close();
  for (const size of SIZES) {
    const p = packet(size, '10.0.3.2');
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const dev = await Tun.open({ name: 'pkbtc', netns: NS, addrs: ['10.0.3.1/24'], txQueueLen: N + 1000 });
      let got = 0;
      let t0 = 0;
      const done = new Promise<void>((resolve) => {
        dev.setHandler(() => {
          if (got === 0) t0 = performance.now();
          if (++got >= N) resolve();
        });
      });
      // The first packet starts the clock: the rate is the poller and handler keeping up.
      prefill(p);
      await done;
      rates.push((N - 1) / ((performance.now() - t0) / 1000));
      await dev.close();
    }
    record('read', 'Tun handler', size, rates);
  }

  // ---- through the dataplane: a TUN port, its I/O thread and an engine on a port worker
  const dp = new Dataplane({ workers: 1, modules: [new URL('./engines.js', import.meta.url).href] });
  try {
    for (const size of SIZES) {
      // write: bench-generator -> ring -> I/O thread -> TUN -> kernel (blackholed)
      const gen = await dp.create({ kind: 'bench-generator', options: { size, pool: false } });
      const port = await attachTun(dp, gen, { name: 'pkbtx', netns: NS, addrs: ['10.0.6.1/24'], port: { policy: 'wait', maxWaitMs: 50 } });
      sh(['ip', '-n', NS, 'route', 'replace', 'blackhole', '10.1.0.0/16']);
      const rates: number[] = [];
      await dp.command(gen, 'start', { batch: 64 });
      for (let r = 0; r < ROUNDS; r++) {
        const before = kernelRx('pkbtx');
        const t0 = performance.now();
        await new Promise((res) => setTimeout(res, 1000));
        rates.push((kernelRx('pkbtx') - before) / ((performance.now() - t0) / 1000));
      }
      await dp.command(gen, 'stop');
      record('write', 'I/O thread', size, rates);
      await port.close();
      sh(['ip', '-n', NS, 'route', 'del', 'blackhole', '10.1.0.0/16']);

      // read: kernel (forwarding what we write into ta) -> TUN -> I/O thread -> ring -> bench-sink
      const sink = await dp.create({ kind: 'bench-sink' });
      const rport = await attachTun(dp, sink, { name: 'pkbrx', netns: NS, addrs: ['10.0.7.1/24'], routes: ['10.1.0.0/16'], txQueueLen: 16384 });
      const p = packet(size, '10.1.0.1');
      const { data, meta } = slots(p, BATCH);
      const rrates: number[] = [];
      const M = BATCH * 16 * 98; // whole write bursts: exactly M packets go in
      let lost = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const before = ((await dp.command(sink, 'mark')) as { frames: number }).frames;
        const t0 = performance.now();
        for (let i = 0; i < M; i += BATCH * 16) {
          for (let j = 0; j < 16; j++) n.tuntapWriteSlots(taFd, data, meta, SLOT, 0, BATCH, c);
          await new Promise((res) => setImmediate(res));
        }
        let got = 0;
        let last = performance.now();
        const end = last + 5000;
        while (performance.now() < end && performance.now() - last < 200) {
          const now = ((await dp.command(sink, 'mark')) as { frames: number }).frames - before;
          if (now !== got) {
            got = now;
            last = performance.now();
          }
          if (got >= M) break;
          await new Promise((res) => setTimeout(res, 1));
        }
        lost += M - got;
        rrates.push(got / ((last - t0) / 1000));
        if (process.env['TUN_BENCH_DEBUG'] !== undefined) console.log({ got, M, port: rport.stats(), kernel: sh(['ip', '-n', NS, '-s', 'link', 'show', 'dev', 'pkbrx']) });
      }
      record('read', 'I/O thread', size, rrates);
      if (lost !== 0) notes.push(`read through the I/O thread, ${size} B: ${lost} of ${M * ROUNDS} packets lost (the kernel's queue of 16384 overflowed while a thread waited for a core)`);
      await rport.close();
    }
  } finally {
    await dp.close();
  }
  taIface.close();
  await ta.close();
} finally {
  sh(['ip', 'netns', 'del', NS]);
}

const table = [
  '| direction | how | packet | packets/s | Gbit/s (IP bytes) | ± |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...results.map((r) => `| ${r.dir} | ${r.row} | ${r.size} B | ${(r.pps / 1e3).toFixed(0)} k | ${((r.pps * r.size * 8) / 1e9).toFixed(2)} | ${(r.spread * 100).toFixed(0)}% |`),
].join('\n') + (notes.length === 0 ? '' : `\n\n${notes.map((x) => `- ${x}`).join('\n')}`);
const tcp = tcpTable(await tcpBench());
const machine = machineLine();
console.log(`\n${machine}\n\n${table}\n\n${tcp}\n`);
if (values['write-docs']) await writeDocsSection('tun', `Measured: ${machine}\n\n${table}`);
