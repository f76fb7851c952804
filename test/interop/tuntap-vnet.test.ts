/**
 * Real-peer tests of the virtio-net header on TUN (pktkit/tuntap `vnetHdr`): two network
 * namespaces, each with a TUN whose descriptor stays in this process, and pktkit relaying between
 * the two, so that the kernels of the namespaces talk TCP through us. With TSO offered, the
 * sending kernel hands over 64 KiB super-packets with partial checksums:
 *
 * - rx 'raw': the relay passes them on whole (header included) to the other TUN, whose kernel
 *   takes them as they are; we check that super-packets were seen, and that a 50 MB transfer
 *   arrives byte-exact (SHA-256 of what was sent and of what was received);
 * - rx 'segment': the addon cuts them into MTU-sized packets with complete checksums, so the
 *   relay (a plain L3 consumer) never sees a packet above the MTU, over IPv4 and IPv6 and at an
 *   MTU other than 1500; the receiving kernel counts no checksum error;
 * - the same through the dataplane: two TUN ports with vnetHdr on an l3hub.
 *
 * Needs root, iproute2 and node; a missing tool fails the test with that instruction. Every test
 * makes its own namespaces (unique names) and deletes them at teardown, kills what it spawned,
 * and checks that closing left no descriptor (/proc/self/fd) behind.
 */
import test, { type ExecutionContext } from 'ava';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Dataplane } from '../../src/dataplane/index.js';
import { Tun, TunOffload, VnetGso, attachTun, newVnetHdrFields, readVnetHdr } from '../../src/tuntap/index.js';

const ENGINES = new URL('../helpers/tuntap-engines.js', import.meta.url).href;
const MB = 1 << 20;
let seq = 0;

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

async function settle(before: number, what: () => number, ms = 2000): Promise<number> {
  const end = performance.now() + ms;
  while (what() > before && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return what();
}

/** A fresh namespace with lo up, deleted at teardown. */
function netns(t: ExecutionContext, tag: string): string {
  const name = `pk-${tag}-${process.pid}-${++seq}`;
  try {
    execFileSync('ip', ['netns', 'add', name]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('ip is not installed: run `apt-get install iproute2` to run the TUN interop tests');
    throw err;
  }
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'del', name]);
    } catch {
      // already gone
    }
  });
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

function ifname(tag: string): string {
  return `pk${tag}${(process.pid % 10000).toString(36)}${(++seq).toString(36)}`.slice(0, 15);
}

/** The kernel's TCP and UDP checksum error counters in a namespace (/proc/net/snmp, absolute). */
function csumErrors(ns: string): number {
  const snmp = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).split('\n');
  let errors = 0;
  for (let i = 0; i + 1 < snmp.length; i += 2) {
    const names = snmp[i]!.split(/\s+/);
    const values = snmp[i + 1]!.split(/\s+/);
    const k = names.indexOf('InCsumErrors');
    if (k !== -1 && (names[0] === 'Tcp:' || names[0] === 'Udp:')) errors += Number(values[k]);
  }
  return errors;
}

const RECEIVER = `
const net = require('net'), crypto = require('crypto');
const [host, port] = process.argv.slice(1);
const srv = net.createServer((s) => {
  const h = crypto.createHash('sha256'); let n = 0;
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => { console.log(JSON.stringify({ n, hash: h.digest('hex') })); s.end(); srv.close(); });
});
srv.listen(Number(port), host, () => console.log('listening'));`;

const SENDER = `
const net = require('net'), crypto = require('crypto');
const [host, port, total] = process.argv.slice(1);
const h = crypto.createHash('sha256'); let sent = 0;
const s = net.connect(Number(port), host, () => {
  const pump = () => {
    while (sent < Number(total)) {
      const b = crypto.randomBytes(Math.min(1 << 20, Number(total) - sent));
      h.update(b); sent += b.length;
      if (!s.write(b)) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
});
s.on('close', () => console.log(JSON.stringify({ n: sent, hash: h.digest('hex') })));
s.on('error', (e) => { console.error(e.message); process.exit(1); });`;

/** Runs `node -e code args…` in a namespace; resolves with the first stdout line that matches `until`. */
function nodeIn(t: ExecutionContext, ns: string, code: string, args: string[]): { child: ChildProcess; line: (re: RegExp) => Promise<string> } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  const line = async (re: RegExp): Promise<string> => {
    for (;;) {
      const m = out.split('\n').find((l) => re.test(l));
      if (m !== undefined) return m;
      if (child.exitCode !== null) throw new Error(`node in ${ns} exited (${child.exitCode}) without ${re}: ${err}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { child, line };
}

/** Sends `bytes` of random data over TCP from nsA to `host` in nsB; returns both sides' counts and hashes. */
async function transfer(t: ExecutionContext, nsA: string, nsB: string, host: string, bytes: number): Promise<void> {
  const port = String(20000 + (seq % 1000));
  const rx = nodeIn(t, nsB, RECEIVER, [host, port]);
  await rx.line(/^listening$/);
  const t0 = performance.now();
  const tx = nodeIn(t, nsA, SENDER, [host, port, String(bytes)]);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the transfer did not finish in 60 s')), 60_000).unref());
  const [got, sent] = await Promise.race([Promise.all([rx.line(/^\{/), tx.line(/^\{/)]), timeout]);
  const ms = performance.now() - t0;
  t.log(`${bytes / MB} MB to ${host} in ${ms.toFixed(0)} ms (${((bytes * 8) / ms / 1e6).toFixed(2)} Gbit/s)`);
  const r = JSON.parse(got) as { n: number; hash: string };
  const s = JSON.parse(sent) as { n: number; hash: string };
  t.is(s.n, bytes);
  t.is(r.n, bytes, 'every byte arrived');
  t.is(r.hash, s.hash, 'byte-exact (SHA-256)');
}

/** Two namespaces, each with a vnet TUN of this process, relayed into each other. */
async function relayPair(t: ExecutionContext, vnetHdr: object, mtu: number) {
  const nsA = netns(t, 'va');
  const nsB = netns(t, 'vb');
  const a = await Tun.open({ name: ifname('a'), netns: nsA, mtu, addrs: ['10.0.1.1/24', 'fd00:1::1/64'], routes: ['10.0.2.0/24', 'fd00:2::/64'], vnetHdr });
  t.teardown(() => a.close());
  const b = await Tun.open({ name: ifname('b'), netns: nsB, mtu, addrs: ['10.0.2.1/24', 'fd00:2::1/64'], routes: ['10.0.1.0/24', 'fd00:1::/64'], vnetHdr });
  t.teardown(() => b.close());
  return { nsA, nsB, a, b };
}

test.serial("vnetHdr rx 'raw': 50 MB of kernel TCP cross a relay of two TUNs byte-exact, as super-packets", async (t) => {
  const fds = fdCount();
  const { nsA, nsB, a, b } = await relayPair(t, { rx: 'raw' }, 1500);
  t.is(a.vnetHdrLen, 10);
  const tso = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6;
  t.is(a.offloads & tso, tso, 'the kernel took checksum and TSO offloads');
  const h = newVnetHdrFields();
  let supers = 0;
  let biggest = 0;
  let badSuper = 0;
  a.setHandler((f) => {
    if (f.length > 10 + 1500) {
      supers++;
      biggest = Math.max(biggest, f.length);
      readVnetHdr(f, h);
      if ((h.gsoType & ~VnetGso.ECN) !== VnetGso.TCPV4 || h.gsoSize === 0 || h.gsoSize > 1460) badSuper++;
    }
    b.send(f);
  });
  b.setHandler((f) => a.send(f));
  await transfer(t, nsA, nsB, '10.0.2.1', 50 * MB);
  t.log(`super-packets relayed: ${supers}, the largest ${biggest} bytes; a: ${JSON.stringify(a.stats())}`);
  t.true(supers > 0, 'super-packets larger than the MTU were read');
  t.is(badSuper, 0, 'each with a TCPv4 GSO header and an MSS');
  t.true(a.stats().rxGso >= supers);
  t.is(a.stats().dropped, 0);
  t.is(csumErrors(nsB), 0, 'the receiving kernel saw no checksum error');
  await a.close();
  await b.close();
  t.is(await settle(fds, fdCount), fds, 'every descriptor closed');
});

test.serial("vnetHdr rx 'segment': the relay never sees a packet above the MTU; IPv4 and IPv6 transfers byte-exact", async (t) => {
  const fds = fdCount();
  const MTU = 1400;
  const { nsA, nsB, a, b } = await relayPair(t, { rx: 'segment', headerLen: 12 }, MTU);
  t.is(a.vnetHdrLen, 12);
  let largest = 0;
  let v6 = 0;
  a.setHandler((p) => {
    if (p.length > largest) largest = p.length;
    if (p[0]! >> 4 === 6) v6++;
    b.send(p);
  });
  b.setHandler((p) => {
    if (p.length > largest) largest = p.length;
    a.send(p);
  });
  await transfer(t, nsA, nsB, '10.0.2.1', 30 * MB);
  const afterV4 = a.stats().rxGso;
  await transfer(t, nsA, nsB, 'fd00:2::1', 30 * MB);
  const s = a.stats();
  t.log(`largest packet seen ${largest}; a: ${JSON.stringify(s)}`);
  t.true(largest <= MTU, `no packet above the MTU (largest ${largest})`);
  t.true(afterV4 > 0, 'IPv4 super-packets were segmented');
  t.true(s.rxGso > afterV4, 'IPv6 super-packets were segmented');
  t.true(v6 > 10_000, 'the IPv6 transfer went through the relay');
  t.is(s.dropped, 0);
  t.is(csumErrors(nsA) + csumErrors(nsB), 0, 'no checksum error in either kernel: the segments checksums are right');
  await a.close();
  await b.close();
  t.is(await settle(fds, fdCount), fds, 'every descriptor closed');
});

test.serial('vnetHdr through the dataplane: two TUN ports on an l3hub, the I/O threads segmenting, 30 MB byte-exact', async (t) => {
  const nsA = netns(t, 'vda');
  const nsB = netns(t, 'vdb');
  const fds = fdCount();
  const dp = new Dataplane({ workers: 1, modules: [ENGINES] });
  t.teardown(() => dp.close());
  const hub = await dp.create({ kind: 'l3hub' });
  const opts = { vnetHdr: true, port: { policy: 'wait', maxWaitMs: 50 } } as const;
  const pa = await attachTun(dp, hub, { ...opts, name: ifname('da'), netns: nsA, addrs: ['10.0.1.1/24'], routes: ['10.0.2.0/24'] });
  t.teardown(() => pa.close());
  const pb = await attachTun(dp, hub, { ...opts, name: ifname('db'), netns: nsB, addrs: ['10.0.2.1/24'], routes: ['10.0.1.0/24'] });
  t.teardown(() => pb.close());
  t.true((pa.offloads & TunOffload.TSO4) !== 0);
  await transfer(t, nsA, nsB, '10.0.2.1', 30 * MB);
  const sa = pa.stats();
  t.log(`port a: ${JSON.stringify({ ...sa, perQueue: undefined })}`);
  t.true(sa.rxGso > 0, 'the I/O thread segmented super-packets');
  t.is(csumErrors(nsB), 0);
  await pa.close();
  await pb.close();
  await dp.close();
  t.is(await settle(fds, fdCount), fds, 'every descriptor closed');
});
