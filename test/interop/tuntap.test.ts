/**
 * Real-peer tests of pktkit/tuntap: the Linux kernel on the other side of a TUN or TAP that
 * lives in a network namespace of its own (the descriptors stay in this process: INTEROP.md's
 * "socket/fd on host, device in a netns"), pinging our responders, answering our pings, asking
 * for our MAC with ARP and neighbour solicitations; standalone devices and dataplane ports.
 *
 * Needs root, iproute2 and ping (`apt-get install iproute2 iputils-ping`); a missing tool fails
 * the test with that instruction, never skips. Every test makes its own namespace (a unique
 * name) and deletes it at teardown, whatever happened, and checks that closing left no
 * descriptor (/proc/self/fd) and no thread behind.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { Dataplane } from '../../src/dataplane/index.js';
import { Doorbell, RingConsumer, RingProducer, createRing, ringStats } from '../../rings/index.js';
import { Iface, Tap, Tun, attachTap, attachTun } from '../../src/tuntap/index.js';
import { IO_STATS_LEN, tuntapNative } from '../../src/tuntap/native.js';
import { FILL_FULL, NativeRingConsumer, NativeRingProducer } from '../../src/tuntap/ring-io.js';
import { parseIPv4, parseIPv6 } from '../../src/wire/addr.js';
import { echoReplySeq, echoRequest, EchoResponder } from '../helpers/icmp-echo.js';
import { L2Responder } from '../helpers/l2-responder.js';

const execFileAsync = promisify(execFile);
const ENGINES = new URL('../helpers/tuntap-engines.js', import.meta.url).href;
let seq = 0;

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

function missing(tool: string, pkg: string): Error {
  return new Error(`${tool} is not installed: run \`apt-get install ${pkg}\` to run the TUN/TAP interop tests`);
}

/** Runs a command to completion without blocking the event loop (our responders run on it). */
async function sh(t: ExecutionContext, cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const r = await execFileAsync(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 22 });
    return r.stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw missing(cmd, cmd === 'ping' ? 'iputils-ping' : 'iproute2');
    t.log(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw err;
  }
}

/** A fresh namespace with lo up, deleted at teardown. Names are unique per process and test. */
function netns(t: ExecutionContext, tag: string): string {
  const name = `pk-${tag}-${process.pid}-${++seq}`;
  try {
    execFileSync('ip', ['netns', 'add', name]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing('ip', 'iproute2');
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

/** A unique interface name (at most 15 bytes). */
function ifname(tag: string): string {
  return `pk${tag}${(process.pid % 10000).toString(36)}${(++seq).toString(36)}`.slice(0, 15);
}

/** Pings from inside `ns`; returns [transmitted, received]. */
async function ping(t: ExecutionContext, ns: string, args: string[]): Promise<[number, number]> {
  const out = await sh(t, 'ip', ['netns', 'exec', ns, 'ping', ...args]);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (m === null) throw new Error(`unexpected ping output: ${out}`);
  t.log(out.trim().split('\n').slice(-2).join(' | '));
  return [Number(m[1]), Number(m[2])];
}

async function settle(before: number, what: () => number, ms = 2000): Promise<number> {
  const end = performance.now() + ms;
  while (what() > before && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return what();
}

test.serial('TUN in a namespace: the kernel pings our responder 1000 times and loses none', async (t) => {
  const ns = netns(t, 'tun');
  const fds = fdCount();
  const tun = await Tun.open({ name: ifname('t'), netns: ns, addrs: ['10.0.3.1/24', 'fd00:3::1/64'], mtu: 1400 });
  t.teardown(() => tun.close());
  t.is(tun.addr?.toString(), '10.0.3.1/24');
  t.like(tun.info(), { up: true, lowerUp: true, mtu: 1400, mac: null });
  const link = await sh(t, 'ip', ['-n', ns, '-o', 'addr', 'show', 'dev', tun.name]);
  t.regex(link, /inet 10\.0\.3\.1\/24/);
  t.regex(link, /inet6 fd00:3::1\/64/);

  const responder = new EchoResponder();
  const ours = parseIPv4('10.0.3.2');
  tun.setHandler((p) => {
    if (responder.answer(p, ours)) tun.send(p);
  });
  const [sent, received] = await ping(t, ns, ['-c', '1000', '-i', '0.002', '-q', '-W', '2', '10.0.3.2']);
  t.is(sent, 1000);
  t.is(received, 1000, 'no echo lost');
  t.is(responder.answered, 1000);
  const s = tun.stats();
  t.true(s.rxFrames >= 1000);
  t.is(s.txFrames, 1000);
  // Frames that came before the handler was set (IPv6 router solicitations) are the only drops.
  t.deepEqual(Object.keys(s.drops).filter((k) => k !== 'rx-no-handler'), []);

  await tun.close();
  t.is(await settle(fds, fdCount), fds, 'every descriptor closed (device queues, netlink socket, the poller eventfd)');
  t.is((await sh(t, 'ip', ['-n', ns, '-o', 'link'])).includes(tun.name), false, 'the interface went with its last descriptor');
});

test.serial('TUN: we ping the kernel 1000 times and get every reply', async (t) => {
  const ns = netns(t, 'tunr');
  const tun = await Tun.open({ name: ifname('r'), netns: ns, addrs: ['10.0.3.1/24'] });
  t.teardown(() => tun.close());
  const kernel = parseIPv4('10.0.3.1');
  const ours = parseIPv4('10.0.3.2');
  const ident = 0x5a5a;
  const replies = new Set<number>();
  let waiting: (() => void) | null = null;
  tun.setHandler((p) => {
    const s = echoReplySeq(p, kernel, ident);
    if (s >= 0) replies.add(s);
    waiting?.();
  });
  const N = 1000;
  const WINDOW = 50;
  for (let i = 0; i < N; i++) {
    // A window of requests in flight: the kernel's input backlog is 1000 packets.
    while (i - replies.size >= WINDOW) await new Promise<void>((r) => (waiting = r));
    tun.send(echoRequest(ours, kernel, ident, i));
  }
  const deadline = performance.now() + 5000;
  while (replies.size < N && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.is(replies.size, N, 'a reply to every request');
  t.is(tun.stats().txFrames, N);
  t.deepEqual(Object.keys(tun.stats().drops).filter((k) => k !== 'rx-no-handler'), []);
});

test.serial('TAP in a namespace: ARP and neighbour solicitations arrive, and the kernel learns our MAC', async (t) => {
  const ns = netns(t, 'tap');
  const fds = fdCount();
  const tap = await Tap.open({ name: ifname('a'), netns: ns, addrs: ['10.0.4.1/24', 'fd00:4::1/64'], mac: '02:00:00:00:04:01' });
  t.teardown(() => tap.close());
  t.is(tap.hwAddr, 0x02_00_00_00_04_01, 'hwAddr is the interface MAC');
  const ourMac = 0x02_00_00_00_04_02;
  const r = new L2Responder(ourMac, parseIPv4('10.0.4.2'), parseIPv6('fd00:4::2'));
  tap.setHandler((f) => {
    const reply = r.handle(f);
    if (reply !== null) tap.send(reply);
  });

  t.deepEqual(await ping(t, ns, ['-c', '3', '-i', '0.2', '-W', '2', '10.0.4.2']), [3, 3]);
  t.deepEqual(await ping(t, ns, ['-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00:4::2']), [3, 3]);
  const arp = r.seen.find((s) => s.kind === 'arp' && s.target === '10.0.4.2');
  t.truthy(arp, 'the kernel asked for 10.0.4.2 with ARP');
  t.is(arp?.fromMac, tap.hwAddr, 'from the TAP interface');
  const ns6 = r.seen.find((s) => s.kind === 'ns' && s.target === 'fd000004000000000000000000000002');
  t.truthy(ns6, 'the kernel solicited fd00:4::2');
  t.is(ns6?.fromMac, tap.hwAddr);
  t.regex(await sh(t, 'ip', ['-n', ns, 'neigh', 'show', '10.0.4.2']), /lladdr 02:00:00:00:04:02/, 'learned from our ARP reply');
  t.regex(await sh(t, 'ip', ['-n', ns, '-6', 'neigh', 'show', 'fd00:4::2']), /lladdr 02:00:00:00:04:02/, 'learned from our NA');
  t.is(r.echoes, 6);

  await tap.close();
  t.is(await settle(fds, fdCount), fds);
});

test.serial('attach to a persistent TUN made in the namespace, multiqueue, then move it by descriptor', async (t) => {
  const ns = netns(t, 'att');
  const ns2 = netns(t, 'att2');
  const name = ifname('p');
  execFileSync('ip', ['-n', ns, 'tuntap', 'add', 'dev', name, 'mode', 'tun', 'multi_queue']);
  const fds = fdCount();
  const tun = await Tun.attach(name, { attachNetns: ns, multiQueue: true, queues: 2, addrs: ['10.0.6.1/24'] });
  t.teardown(() => tun.close());
  t.is(tun.queues, 2);
  const queues = await sh(t, 'ip', ['netns', 'exec', ns, 'ls', `/sys/class/net/${name}/queues`]);
  t.deepEqual(queues.trim().split(/\s+/).sort(), ['rx-0', 'rx-1', 'tx-0', 'tx-1']);

  const nsFd = openSync(`/run/netns/${ns2}`, 'r');
  try {
    tun.moveTo({ fd: nsFd });
  } finally {
    closeSync(nsFd);
  }
  t.false((await sh(t, 'ip', ['-n', ns, '-o', 'link'])).includes(name));
  t.true((await sh(t, 'ip', ['-n', ns2, '-o', 'link'])).includes(name));
  tun.addAddr('10.0.6.1/24');
  tun.setUp(true);
  tun.addRoute({ dst: '10.9.0.0/16', via: '10.0.6.2', metric: 7 });
  t.regex(await sh(t, 'ip', ['-n', ns2, 'route', 'show', '10.9.0.0/16']), /via 10\.0\.6\.2 dev \S+ .*metric 7/);
  const responder = new EchoResponder();
  tun.setHandler((p) => {
    if (responder.answer(p)) tun.send(p);
  });
  t.deepEqual(await ping(t, ns2, ['-c', '20', '-i', '0.01', '-W', '2', '10.0.6.2']), [20, 20]);
  await tun.close();
  t.is(await settle(fds, fdCount), fds);
  t.true((await sh(t, 'ip', ['-n', ns2, '-o', 'link'])).includes(name), 'a persistent interface stays after close');
});

test.serial('a TUN deleted under the device fails it cleanly', async (t) => {
  const ns = netns(t, 'del');
  const fds = fdCount();
  const tun = await Tun.open({ name: ifname('d'), netns: ns, addrs: ['10.0.8.1/24'] });
  t.teardown(() => tun.close());
  tun.setHandler(() => {});
  await sh(t, 'ip', ['-n', ns, 'link', 'del', tun.name]);
  tun.send(echoRequest(parseIPv4('10.0.8.2'), parseIPv4('10.0.8.1'), 1, 1));
  await Promise.race([tun.done, new Promise((r) => setTimeout(r, 3000))]);
  t.truthy(tun.error, 'the device failed');
  t.is(tun.error?.code, 'ERR_PKT_IO');
  t.true(tun.stats().fatalErrno > 0);
  tun.send(new Uint8Array(40));
  t.true((tun.stats().drops['tx-closed'] ?? 0) >= 1, 'sends after the failure are dropped and counted');
  await tun.close();
  t.is(await settle(fds, fdCount), fds);
});

test.serial('dataplane: a TUN attached to an l3hub, a responder engine behind it, pinged 1000 times from the namespace', async (t) => {
  const ns = netns(t, 'dp');
  const fds = fdCount();
  const threads = threadCount();
  const dp = new Dataplane({ workers: 2, modules: [ENGINES] });
  t.teardown(() => dp.close());
  const hub = await dp.create({ kind: 'l3hub' }, { worker: 0 });
  const echo = await dp.create({ kind: 'echo-responder', options: { addr: '10.0.5.2' } }, { worker: 1 });
  await dp.link(hub, echo, { addr: { a: '10.0.5.2/32' } });
  const port = await attachTun(dp, hub, { name: ifname('h'), netns: ns, addrs: ['10.0.5.1/24'] });
  t.teardown(() => port.close());
  t.is(port.links.length, 1);
  t.is(port.links[0]!.mode, 'external');
  t.is(await dp.command(hub, 'lookup', '10.0.5.1'), port.links[0]!.id, 'the hub routes the kernel side to the TUN port');

  const [sent, received] = await ping(t, ns, ['-c', '1000', '-i', '0.002', '-q', '-W', '2', '10.0.5.2']);
  t.is(sent, 1000);
  t.is(received, 1000, 'no echo lost through hub, rings and I/O thread');
  const s = port.stats();
  t.is(s.txFrames, 1000);
  t.true(s.rxFrames >= 1000);
  t.is(s.dropped, 0);
  t.deepEqual(s.states, ['running']);
  t.true(s.wakeups > 0, 'the engine woke the parked I/O thread through its eventfd');
  const st = await dp.stats();
  t.like(st.workers[1]!.engines.find((e) => e.id === echo.id)!.stats as object, { answered: 1000 });

  await port.close();
  t.deepEqual(port.stats().states, ['stopped']);
  t.false((await dp.stats()).links.some((l) => l.id === port.links[0]!.id), 'the port is unlinked');
  await dp.close();
  t.is(await settle(fds, fdCount), fds, 'every descriptor closed');
  t.is(await settle(threads, threadCount), threads, 'every thread ended');
});

test.serial('dataplane: a TAP attached to an l2hub with a host engine behind it; multiqueue; closing the dataplane first stops the I/O threads', async (t) => {
  const ns = netns(t, 'dpl2');
  const fds = fdCount();
  const threads = threadCount();
  const dp = new Dataplane({ workers: 2, modules: [ENGINES] });
  t.teardown(() => dp.close());
  const hub = await dp.create({ kind: 'l2hub' }, { worker: 0 });
  const host = await dp.create({ kind: 'l2-responder', options: { mac: '02:00:00:00:0a:02', ip4: '10.0.10.2', ip6: 'fd00:a::2' } }, { worker: 1 });
  await dp.link(hub, host);
  const port = await attachTap(dp, hub, { name: ifname('l'), netns: ns, addrs: ['10.0.10.1/24', 'fd00:a::1/64'], multiQueue: true, queues: 2 });
  t.teardown(() => port.close());
  t.is(port.queues, 2);
  t.deepEqual(port.stats().states, ['running', 'running']);
  await t.throwsAsync(attachTap(dp, await dp.create({ kind: 'l3hub' }), { name: ifname('x'), netns: ns }), { code: 'ERR_PKT_CONFIG', message: /layer-2 engine/ });

  t.deepEqual(await ping(t, ns, ['-c', '50', '-i', '0.005', '-W', '2', '10.0.10.2']), [50, 50]);
  t.deepEqual(await ping(t, ns, ['-6', '-c', '50', '-i', '0.005', '-W', '2', 'fd00:a::2']), [50, 50]);
  t.regex(await sh(t, 'ip', ['-n', ns, 'neigh', 'show', '10.0.10.2']), /lladdr 02:00:00:00:0a:02/);
  const hs = (await dp.stats()).workers[1]!.engines.find((e) => e.id === host.id)!.stats as { arp: number; ns: number; echoes: number };
  t.true(hs.arp >= 1 && hs.ns >= 1);
  t.is(hs.echoes, 100);

  // The dataplane goes first: the I/O threads see their rings close and end by themselves.
  await dp.close();
  const end = performance.now() + 3000;
  while (port.stats().states.some((s) => s === 'running') && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(port.stats().states, ['link-down', 'link-down']);
  await port.close();
  t.is(await settle(fds, fdCount), fds);
  t.is(await settle(threads, threadCount), threads);
});

test.serial('ring I/O: native batches into and out of SpscRing slots, across the counters\' wrap, the kernel as reflector', async (t) => {
  const ns = netns(t, 'ring');
  const n = tuntapNative();
  // Made directly inside the namespace (TUNSETIFF on a thread that joined it).
  const { name, fds } = n.tuntapOpen({ name: ifname('g'), tap: false, queues: 1, multiQueue: false, create: true, netns: `/run/netns/${ns}` });
  const fd = fds[0]!;
  const iface = new Iface(n, name, `/run/netns/${ns}`);
  t.teardown(() => {
    iface.close();
    n.fdClose(fd);
  });
  iface.addAddr('10.0.7.1/24');
  iface.setUp(true);
  const SLOTS = 8;
  const geometry = { slots: SLOTS, slotSize: 256, headroom: 32, initialCounter: 0xffff_fffa };
  const toKernel = createRing(geometry); // the engine produces (RingProducer), the I/O side writes (native)
  const fromKernel = createRing(geometry); // the I/O side reads (native), the engine consumes (RingConsumer)
  const engineBell = new Doorbell();
  const engineOut = new RingProducer(toKernel);
  const engineIn = new RingConsumer(fromKernel);
  const c = new Float64Array(IO_STATS_LEN);
  const tx = new NativeRingConsumer(toKernel, n, 64);
  const rx = new NativeRingProducer(fromKernel, n, engineBell, 64);
  const kernel = parseIPv4('10.0.7.1');
  const ours = parseIPv4('10.0.7.2');
  const N = 100;
  const seen = new Set<number>();
  let sent = 0;
  let sawFull = false;
  let rounds = 0;
  const deadline = performance.now() + 10_000;
  while (seen.size < N && performance.now() < deadline) {
    // Engine: a few requests (the ring holds 8), I/O side: write them all.
    for (let i = 0; i < 3 && sent < N; i++) if (engineOut.push(echoRequest(ours, kernel, 7, sent, 100))) sent++;
    engineOut.publish();
    tx.drain(fd, c);
    // I/O side: the replies into the ring (it may be full: the engine reads only now and then).
    const r = rx.fill(fd, c);
    if (r === FILL_FULL) sawFull = true;
    // The engine reads only every third round, so that the ring fills up now and then.
    if (++rounds % 3 === 0 || r === FILL_FULL) {
      engineIn.poll((p) => {
        if (p[0]! >> 4 === 6) return; // the kernel's IPv6 router solicitations
        const s = echoReplySeq(p, kernel, 7);
        t.true(s >= 0, 'each frame in a slot is a whole, checksummed reply');
        seen.add(s);
      });
    }
    await new Promise((r) => setImmediate(r));
  }
  engineIn.flush();
  t.is(seen.size, N, 'every reply arrived through the ring');
  t.true(sawFull, 'the ring filled up at least once (the native side respected TAIL)');
  t.like(ringStats(toKernel), { Pushed: N, Consumed: N, inFlight: 0 });
  t.like(ringStats(fromKernel), { inFlight: 0 });
  t.is(ringStats(fromKernel).Pushed, ringStats(fromKernel).Consumed);
  t.is(ringStats(fromKernel).PushedBytes, ringStats(fromKernel).ConsumedBytes);
  t.true(engineBell.wakeups === 0, 'the engine was never asleep here');
  t.is(c[3], N, 'tx frames counted natively');
});
