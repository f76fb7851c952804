/**
 * pktkit/tuntap without root and without the kernel: argument checks (they run before the addon
 * is asked for anything), the error when the addon or its `tuntap` feature is missing, the
 * counters report, namespace names, and the I/O thread's ring layout against rings/.
 * The kernel tests are in test/interop/tuntap.test.ts.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { RingProducer, createRing, ringStats } from '../../rings/index.js';
import { hasNative, loadNative } from '../../src/native/index.js';
import { Tap, Tun, attachTap, attachTun, netnsPath } from '../../src/tuntap/index.js';
import { IO_STATS_LEN, IoStat, ioStats, type TuntapNative } from '../../src/tuntap/native.js';
import { NativeRingConsumer, NativeRingProducer } from '../../src/tuntap/ring-io.js';
import { Doorbell } from '../../rings/index.js';
import type { Dataplane } from '../../src/dataplane/index.js';

const badOpen = test.macro({
  async exec(t, open: (o: object) => Promise<unknown>, opts: object, code: string, message: RegExp) {
    await t.throwsAsync(open(opts), { code, message });
  },
  title: (what = '', _open, opts) => `${what} rejects ${JSON.stringify(opts)}`.trim(),
});

const tunOpen = (o: object) => Tun.open(o);
const tapOpen = (o: object) => Tap.open(o);
test('Tun.open', badOpen, tunOpen, { name: 'abcdefghijklmnop' }, 'ERR_PKT_INVALID_ARG', /16 bytes long, at most 15/);
test('Tun.open', badOpen, tunOpen, { name: 'a/b' }, 'ERR_PKT_INVALID_ARG', /not allowed/);
test('Tun.open', badOpen, tunOpen, { name: 7 }, 'ERR_PKT_INVALID_ARG', /as a string/);
test('Tun.open', badOpen, tunOpen, { queues: 2 }, 'ERR_PKT_OUT_OF_RANGE', /multiQueue/);
test('Tun.open', badOpen, tunOpen, { multiQueue: true, queues: 0 }, 'ERR_PKT_OUT_OF_RANGE', /queues/);
test('Tun.open', badOpen, tunOpen, { mtu: 10 }, 'ERR_PKT_OUT_OF_RANGE', /mtu: expected an integer in \[68, 65535\]/);
test('Tun.open', badOpen, tunOpen, { addrs: ['10.0.0.300/24'] }, 'ERR_PKT_INVALID_ADDRESS', /10\.0\.0\.300/);
test('Tun.open', badOpen, tunOpen, { addrs: '10.0.0.1/24' }, 'ERR_PKT_INVALID_ARG', /addrs must be an array/);
test('Tun.open', badOpen, tunOpen, { routes: [{ dst: '10.0.0.0/8', via: 'fd00::1' }] }, 'ERR_PKT_INVALID_ARG', /mixes IPv4 and IPv6/);
test('Tun.open', badOpen, tunOpen, { mac: '02:00:00:00:00:01' }, 'ERR_PKT_INVALID_ARG', /mac is for TAP/);
test('Tun.open', badOpen, tunOpen, { netns: 'a b' }, 'ERR_PKT_INVALID_ARG', /network namespace name/);
test('Tun.open', badOpen, tunOpen, { netns: '../etc' }, 'ERR_PKT_INVALID_ARG', /absolute path/);
test('Tun.open', badOpen, tunOpen, { netns: { fd: -1 } }, 'ERR_PKT_OUT_OF_RANGE', /netns\.fd/);
test('Tun.open', badOpen, tunOpen, { up: 'yes' }, 'ERR_PKT_INVALID_ARG', /up must be a boolean/);
test('Tun.open', badOpen, tunOpen, { nmae: 'tun0' }, 'ERR_PKT_INVALID_ARG', /unknown option "nmae"/);
test('Tap.open', badOpen, tapOpen, { mac: 'zz:00:00:00:00:01' }, 'ERR_PKT_INVALID_ADDRESS', /MAC/);
test('Tap.open', badOpen, tapOpen, { txQueueLen: -1 }, 'ERR_PKT_OUT_OF_RANGE', /txQueueLen/);
test('Tun.attach', badOpen, (o) => Tun.attach('', o), {}, 'ERR_PKT_INVALID_ARG', /existing interface/);

const fakeDp = { attachPort: () => Promise.reject(new Error('not reached')) } as unknown as Dataplane;
test('attachTun (no dataplane)', badOpen, (o) => attachTun(null as unknown as Dataplane, 'e', o), {}, 'ERR_PKT_INVALID_ARG', /expected a Dataplane/);
test('attachTun', badOpen, (o) => attachTun(fakeDp, 'e', o), { rxPolicy: 'block' }, 'ERR_PKT_INVALID_ARG', /rxPolicy/);
test('attachTun', badOpen, (o) => attachTun(fakeDp, 'e', o), { batch: 0 }, 'ERR_PKT_OUT_OF_RANGE', /batch/);
test('attachTun', badOpen, (o) => attachTun(fakeDp, 'e', o), { mtu: 9000, port: { slotSize: 2048 } }, 'ERR_PKT_CONFIG', /cannot hold a 9000-byte frame/);
test('attachTap', badOpen, (o) => attachTap(fakeDp, 'e', o), { port: { addr: '10.0.0.1/24' } }, 'ERR_PKT_CONFIG', /port\.addr is for TUN/);
test('attachTun (an L2 engine)', badOpen, (o) => attachTun(fakeDp, { id: 'l2hub-1', kind: 'l2hub', worker: 0, layer: 2 }, o), {}, 'ERR_PKT_CONFIG', /needs a layer-3 engine/);

test('namespaces are names under /run/netns, paths, descriptors or processes', (t) => {
  t.is(netnsPath('blue'), '/run/netns/blue');
  t.is(netnsPath('/proc/1/ns/net'), '/proc/1/ns/net');
  t.throws(() => netnsPath('run/netns/blue'), { code: 'ERR_PKT_INVALID_ARG', message: /absolute path/ });
  t.is(netnsPath({ fd: 12 }), '/proc/self/fd/12');
  t.is(netnsPath({ pid: 42 }), '/proc/42/ns/net');
  t.throws(() => netnsPath(''), { code: 'ERR_PKT_INVALID_ARG' });
  t.throws(() => netnsPath({} as never), { code: 'ERR_PKT_INVALID_ARG' });
});

test('the counters report sums the queues and names the drops', (t) => {
  const a = new Float64Array(IO_STATS_LEN);
  const b = new Float64Array(IO_STATS_LEN);
  a[IoStat.RxFrames] = 3;
  b[IoStat.RxFrames] = 4;
  a[IoStat.TxInvalid] = 1;
  b[IoStat.RxDropFull] = 2;
  b[IoStat.FatalErrno] = 77;
  const s = ioStats([a, b]);
  t.like(s, { rxFrames: 7, dropped: 3, drops: { 'tx-invalid': 1, 'rx-queue-full': 2 }, fatalErrno: 77 });
});

test('without the addon, every entry point says ERR_PKT_NATIVE_UNAVAILABLE (after checking its arguments)', (t) => {
  const mod = new URL('../../src/tuntap/index.js', import.meta.url).href;
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(mod)});
       for (const f of [() => m.Tun.open(), () => m.Tap.open({ name: 'tap9' }), () => m.attachTun({ attachPort() {} }, 'e')]) {
         try { await f(); console.log('opened?'); } catch (e) { console.log(e.code, /TUN\\/TAP needs pktkit's native addon/.test(e.message)); }
       }`,
    ],
    { env: { ...process.env, PKTKIT_NATIVE_PATH: '/nonexistent/pktkit.node' }, encoding: 'utf8' },
  );
  t.deepEqual(out.trim().split('\n'), ['ERR_PKT_NATIVE_UNAVAILABLE true', 'ERR_PKT_NATIVE_UNAVAILABLE true', 'ERR_PKT_NATIVE_UNAVAILABLE true']);
});

test('an addon built without the tuntap feature is refused with the feature named', async (t) => {
  if (loadNative() === null || hasNative('tuntap')) return t.pass('this build has tuntap (or no addon at all): covered by the test above');
  await t.throwsAsync(Tun.open(), { code: 'ERR_PKT_NATIVE_UNAVAILABLE', message: /lacks the 'tuntap' feature/ });
});

// The I/O thread speaks the SpscRing protocol on its own (ring-io.ts); these check its view of
// the ring's memory against RingProducer and ringStats, without the addon.
const noNative = {} as TuntapNative;

test('ring I/O: the consuming end sees what a RingProducer published, and releases it', (t) => {
  const d = createRing({ slots: 4, slotSize: 128, initialCounter: 0xffff_fffe });
  const p = new RingProducer(d);
  const cons = new NativeRingConsumer(d, noNative, 64);
  for (const len of [10, 20, 30]) t.true(p.push(new Uint8Array(len)));
  t.is(cons.available(), 0, 'nothing published yet');
  p.publish();
  t.is(cons.available(), 3);
  const c = new Float64Array(IO_STATS_LEN);
  t.is(cons.discard(c), 3);
  t.is(c[IoStat.TxDropClosed], 3);
  t.like(ringStats(d), { Pushed: 3, Consumed: 3, ConsumedBytes: 60, inFlight: 0 });
  for (let i = 0; i < 4; i++) t.true(p.push(new Uint8Array(8)), 'all four slots free again (across the wrap)');
  t.false(p.push(new Uint8Array(8)));
});

test('ring I/O: the producing end waits for room on TAIL and reports the ring closed', (t) => {
  const d = createRing({ slots: 2, slotSize: 64, headroom: 0 });
  const prod = new NativeRingProducer(d, noNative, new Doorbell(), 64);
  t.true(prod.waitForRoom(0), 'an empty ring has room');
  t.is(ringStats(d).Waits, 1);
  t.false(prod.closed);
  prod.close();
  t.true(ringStats(d).closed);
  t.is(prod.fill(-1, new Float64Array(IO_STATS_LEN)), -2, 'FILL_CLOSED, without calling the addon');
});
