/**
 * iperf3 through a TUN into our slirp Stack, side by side with slirp4netns (issue 7's target: at
 * least 1.0x slirp4netns in the same run). Needs root, iproute2, iperf3 and slirp4netns.
 *
 *   namespace ──TUN──► this process: Stack (hostLoopback) ──► iperf3 -s -1 on 127.0.0.1
 *   namespace ──tap──► slirp4netns (libslirp, 10.0.2.2 = host loopback) ──► iperf3 -s -1 on 127.0.0.1
 *
 * Every path has its own network namespace, set up once. A round runs each path once (a fresh
 * one-shot server on a free port, then `iperf3 -c ADDR -t SECONDS -J` inside the namespace),
 * the order rotated each round so that no path always goes first; a row's figure is the median
 * of its rounds' received Gbit/s (min-max in brackets), and the ratio is of the medians.
 *
 *   npx tsc -p tsconfig.json && node build/bench/slirp-iperf.js [--rounds 3] [--time 3] [--write-docs]
 *
 * Paths: ours with a plain TUN at MTU 1500; ours with `vnetHdr: true` (the kernel hands the addon
 * TSO super-packets, which it segments back into plain MTU-sized packets for the Stack: the
 * kernel's side of the TUN stops segmenting); ours with a plain TUN at MTU 65520 (the Stack's MSS
 * follows the Tun's MTU: 64 KiB segments), with the default limits and with 1 MiB TCP buffers;
 * slirp4netns at MTU 65520 (what `--mtu=65520` users get, and the issue's 4.1 Gbit/s) and at MTU
 * 1500. The target compares the two at MTU 65520 with our defaults.
 * `--only TAGS` runs only the paths whose tags (a b e f c d) are given, and prints no table.
 * `--write-docs` rewrites the bench:slirp section of docs/BENCHMARKS.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Stack, type SlirpLimits } from '../src/slirp/stack.js';
import { Tun } from '../src/tuntap/index.js';
import { machineLine, median, writeDocsSection } from './harness.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    time: { type: 'string', default: '3' },
    'write-docs': { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.time);
/** The issue's target: our slirp at least as fast as slirp4netns. */
const TARGET_RATIO = 1.0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function need(tool: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed: run \`apt-get install ${pkg}\``);
  }
}

interface Path {
  name: string;
  /** What the namespace's iperf3 client connects to (reaches the host's 127.0.0.1). */
  target: string;
  ns: string;
  /** Our slirp rows; null for slirp4netns (the baseline rows). */
  ours: boolean;
  gbits: number[];
  close: () => Promise<void>;
}

const namespaces: string[] = [];
const children: ChildProcess[] = [];

function addNs(tag: string): string {
  const ns = `pk-bslirp-${process.pid}-${tag}`;
  execFileSync('ip', ['netns', 'add', ns]);
  namespaces.push(ns);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

function cleanupAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const ns of namespaces.splice(0)) {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
}

async function oursPath(name: string, tag: string, mtu: number, vnetHdr: boolean, limits: Partial<SlirpLimits> = {}): Promise<Path> {
  const ns = addNs(tag);
  const ifname = `pkb${tag}${(process.pid % 10000).toString(36)}`.slice(0, 15);
  const tun = await Tun.open({ name: ifname, netns: ns, addrs: ['10.0.4.1/24'], mtu, ...(vnetHdr ? { vnetHdr: true } : {}) });
  const slirp = new Stack({ addr: '10.0.4.2/24', hostLoopback: true, limits });
  const detach = slirp.connectL3(tun) as () => void;
  execFileSync('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.0.4.2', 'dev', ifname]);
  return {
    name,
    target: '10.0.4.2',
    ns,
    ours: true,
    gbits: [],
    close: async () => {
      if (process.env.SLIRP_BENCH_STATS) console.error(JSON.stringify(tun.stats()));
      detach();
      await slirp.close();
      await tun.close();
    },
  };
}

async function slirp4netnsPath(name: string, tag: string, mtu: number): Promise<Path> {
  const ns = addNs(tag);
  // Host loopback through 10.0.2.2 is on by default (--disable-host-loopback turns it off).
  const child = spawn('slirp4netns', ['--configure', `--mtu=${mtu}`, '--netns-type=path', `/run/netns/${ns}`, 'tap0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.setEncoding('latin1').on('data', (d: string) => (err += d));
  for (let i = 0; ; i++) {
    let a = '';
    try {
      a = execFileSync('ip', ['-n', ns, '-4', 'addr', 'show', 'dev', 'tap0'], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    } catch {
      // tap0 not created yet
    }
    if (a.includes('10.0.2.100')) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`slirp4netns did not configure tap0 in ${ns}: ${err}`);
    await sleep(50);
  }
  return {
    name,
    target: '10.0.2.2',
    ns,
    ours: false,
    gbits: [],
    close: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
    },
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A one-shot `iperf3 -s -1` on 127.0.0.1, resolved once it listens (read from its output: a probe connect would use it up). */
async function iperfServer(port: number): Promise<ChildProcess> {
  const server = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port), '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(server);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`iperf3 -s did not start: ${out}`)), 5000);
    server.stdout!.setEncoding('latin1').on('data', (d: string) => {
      out += d;
      if (out.includes('Server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.stderr!.setEncoding('latin1').on('data', (d: string) => (out += d));
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`iperf3 -s exited (${code}): ${out}`));
    });
  });
  return server;
}

/** Runs the client asynchronously: our Stack runs on this thread's event loop meanwhile. */
function iperfClient(ns: string, target: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-c', target, '-p', String(port), '-t', String(SECONDS), '-J'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let err = '';
    c.stdout!.setEncoding('latin1').on('data', (d: string) => (out += d));
    c.stderr!.setEncoding('latin1').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), (SECONDS + 20) * 1000);
    c.once('exit', (code) => {
      clearTimeout(timer);
      if (out.trim().startsWith('{')) resolve(out);
      else reject(new Error(`iperf3 -c ${target} in ${ns} exited ${code}: ${out}${err}`));
    });
  });
}

async function measure(p: Path): Promise<number> {
  const port = await freePort();
  const server = await iperfServer(port);
  try {
    const report = JSON.parse(await iperfClient(p.ns, p.target, port)) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
    if (report.error !== undefined) throw new Error(`${p.name}: iperf3: ${report.error}`);
    const bps = report.end?.sum_received?.bits_per_second ?? 0;
    if (!(bps > 0)) throw new Error(`${p.name}: iperf3 reported no received bytes`);
    return bps / 1e9;
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGKILL');
      await gone;
    }
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('slirp-iperf needs root (network namespaces, TUN)');
  need('ip', 'iproute2');
  need('iperf3', 'iperf3');
  need('slirp4netns', 'slirp4netns');
  const paths: Path[] = [];
  process.once('SIGINT', () => {
    cleanupAll();
    process.exit(130);
  });
  try {
    const want = (tag: string) => values.only === '' || values.only.includes(tag);
    if (want('a')) paths.push(await oursPath('ours: TUN -> slirp Stack, MTU 1500', 'a', 1500, false));
    if (want('b')) paths.push(await oursPath('ours: TUN with vnetHdr (TSO segmented by the addon) -> slirp Stack, MTU 1500', 'b', 1500, true));
    if (want('e')) paths.push(await oursPath('ours: TUN -> slirp Stack, MTU 65520 (default limits: 256 KiB TCP buffers)', 'e', 65520, false));
    if (want('f')) paths.push(await oursPath('ours: TUN -> slirp Stack, MTU 65520, limits.tcpBuffer 1 MiB', 'f', 65520, false, { tcpBuffer: 1 << 20, streamBuffer: 256 << 10 }));
    if (want('c')) paths.push(await slirp4netnsPath('slirp4netns --mtu=65520', 'c', 65520));
    if (want('d')) paths.push(await slirp4netnsPath('slirp4netns --mtu=1500', 'd', 1500));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < paths.length; i++) {
        const p = paths[(i + round) % paths.length]!;
        const g = await measure(p);
        p.gbits.push(g);
        console.error(`round ${round + 1}/${ROUNDS}: ${p.name}: ${g.toFixed(2)} Gbit/s`);
      }
    }
  } finally {
    for (const p of paths) await p.close();
    cleanupAll();
  }

  if (values.only !== '') return;
  const med = (p: Path) => median(p.gbits);
  const [plain, vnet, big, bigBuf, s4n, s4n1500] = paths as [Path, Path, Path, Path, Path, Path];
  const ratio = med(big) / med(s4n);
  const best1500 = Math.max(med(plain), med(vnet));
  const lines = [
    `Measured: ${machineLine()}`,
    '',
    `    node build/bench/slirp-iperf.js --rounds ${ROUNDS} --time ${SECONDS}${values['write-docs'] ? ' --write-docs' : ''}`,
    '',
    '| Path | Gbit/s (median) | min - max | vs slirp4netns --mtu=65520 |',
    '| --- | ---: | ---: | ---: |',
    ...paths.map((p) => {
      const xs = p.gbits;
      return `| ${p.name} | ${med(p).toFixed(2)} | ${Math.min(...xs).toFixed(2)} - ${Math.max(...xs).toFixed(2)} | ${p === s4n ? 'baseline' : `${(med(p) / med(s4n)).toFixed(2)}x`} |`;
    }),
    '',
    '| Target | This run | Met |',
    '| --- | --- | --- |',
    `| Ours at least ${TARGET_RATIO.toFixed(1)}x slirp4netns, both at MTU 65520, our default limits | ${ratio.toFixed(2)}x (${med(big).toFixed(2)} vs ${med(s4n).toFixed(2)} Gbit/s) | ${ratio >= TARGET_RATIO ? 'yes' : 'no'} |`,
    `| Same with 1 MiB TCP buffers | ${(med(bigBuf) / med(s4n)).toFixed(2)}x (${med(bigBuf).toFixed(2)} vs ${med(s4n).toFixed(2)} Gbit/s) | ${med(bigBuf) / med(s4n) >= TARGET_RATIO ? 'yes' : 'no'} |`,
    `| Same, both at MTU 1500 (best of our MTU 1500 rows vs slirp4netns --mtu=1500) | ${(best1500 / med(s4n1500)).toFixed(2)}x (${best1500.toFixed(2)} vs ${med(s4n1500).toFixed(2)} Gbit/s) | ${best1500 / med(s4n1500) >= TARGET_RATIO ? 'yes' : 'no'} |`,
  ];
  const body = lines.join('\n');
  console.log(body);
  if (values['write-docs']) await writeDocsSection('slirp', body);
}

main().catch((e: unknown) => {
  cleanupAll();
  console.error(e);
  process.exitCode = 1;
});
