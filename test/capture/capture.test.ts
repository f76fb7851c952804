/**
 * CaptureFile and the tap wrappers as seen by their users: transparency of the wrappers, the
 * lifecycle (close, closed, failures), option checks. The bytes themselves are checked in
 * pcapng.test.ts and pcap.test.ts.
 */
import test from 'ava';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureFile, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../src/capture/index.js';
import { TapDirection } from '../../src/core/device.js';
import { ClosedError, PktError } from '../../src/errors.js';
import { fromHex, toHex } from '../helpers/bytes.js';
import { FailingSink, MemorySink, ethForIp, pipeL2, pipeL3 } from '../helpers/capture-doubles.js';
import { readPcapng } from '../helpers/pcap-reader.js';
import { KERNEL_IPV4_ICMP_ECHO, KERNEL_IPV4_UDP, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

const MAC_A = 0x02_00_00_00_00_0a;
const MAC_B = 0x02_00_00_00_00_0b;
const T0_MS = 1_700_000_000_123.4567;

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pktkit-capture-'));
});
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Tap wrappers

test('the tap records what crossed before a receiver rewrites it in place', async (t) => {
  const sink = new MemorySink();
  const cap = CaptureFile.toSink(sink, { flushIntervalMs: 0 });
  const [a, b] = pipeL2(MAC_A, MAC_B);
  const ta = cap.tapL2(a, 'a');
  ta.setHandler((f) => {
    f[0] = 0xee; // a hub or NAT rewriting the borrowed frame
  });
  b.setHandler((f) => f.fill(0));
  const f1 = ethForIp(MAC_A, MAC_B, fromHex(KERNEL_IPV4_UDP));
  const f2 = ethForIp(MAC_B, MAC_A, fromHex(KERNEL_IPV4_ICMP_ECHO));
  const want1 = toHex(f1);
  const want2 = toHex(f2);
  ta.send(f1);
  b.send(f2);
  await cap.close();
  t.deepEqual(
    readPcapng(sink.bytes()).packets.map((p) => toHex(p.data)),
    [want1, want2],
  );
});

test('tap wrappers pass through hwAddr, addr, setAddr, watchAddr and close', async (t) => {
  const cap = CaptureFile.toSink(new MemorySink(), { flushIntervalMs: 0 });
  const [a] = pipeL2(MAC_A, MAC_B);
  const ta = cap.tapL2(a, 'a');
  t.is(ta.hwAddr, MAC_A);
  t.is(ta.inner, a);
  ta.close();
  t.is(a.closeCalls, 1);

  const [x] = pipeL3(true);
  const tx = cap.tapL3(x, 'x');
  t.is(tx.addr, null);
  const seen: (string | null)[] = [];
  t.is(typeof tx.watchAddr, 'function');
  const stop = tx.watchAddr!((p) => seen.push(p === null ? null : `${p.addr.toString()}/${p.bits}`));
  tx.setAddr('10.99.0.1/24');
  t.is(x.addr?.bits, 24);
  t.is(tx.addr, x.addr);
  stop();
  x.setAddr(null);
  t.is(tx.addr, null);
  t.deepEqual(seen, ['10.99.0.1/24']);
  const closing = tx.close();
  t.true(closing instanceof Promise, 'close returns the inner device’s promise');
  await closing;
  t.is(x.closeCalls, 1);

  const [noWatch] = pipeL3(false);
  const tn = cap.tapL3(noWatch, 'n');
  t.is(tn.watchAddr, undefined);
  t.false(typeof tn.watchAddr === 'function');
  await cap.close();
});

test('a wrapper records Out only once its own setHandler was called (wrapping alone changes nothing)', async (t) => {
  const sink = new MemorySink();
  const cap = CaptureFile.toSink(sink, { flushIntervalMs: 0 });
  const [a, b] = pipeL2(MAC_A, MAC_B);
  const earlier: number[] = [];
  a.setHandler((f) => earlier.push(f.length));
  const ta = cap.tapL2(a, 'a');
  b.send(new Uint8Array(60));
  t.deepEqual(earlier, [60], 'the device keeps its handler until the wrapper is wired');
  t.is(cap.stats().packets, 0);
  ta.setHandler(() => {});
  b.send(new Uint8Array(61));
  t.deepEqual(earlier, [60]);
  t.is(cap.stats().packets, 1);
  await cap.close();
});

// ---------------------------------------------------------------------------------------------
// Lifecycle and failures

test('close is idempotent; tapping after close drops and counts; adding after close throws', async (t) => {
  const path = join(dir, 'closed.pcapng');
  const cap = await CaptureFile.open(path, { flushIntervalMs: 0 });
  const [x, y] = pipeL3();
  const tx = cap.tapL3(x, 'tun0');
  tx.setHandler(() => {});
  tx.send(fromHex(KERNEL_IPV4_UDP));
  const c1 = cap.close();
  const c2 = cap.close();
  t.is(c1, c2);
  await c1;
  await cap.close();
  t.notThrows(() => tx.send(fromHex(KERNEL_IPV4_UDP)));
  t.notThrows(() => y.send(fromHex(KERNEL_IPV6_UDP)));
  t.deepEqual(cap.stats().interfaces[0], { id: 0, name: 'tun0', linkType: 101, packets: 1, bytes: 48, drops: 2 });
  const err = t.throws(() => cap.addInterface('late', LINKTYPE_RAW), { instanceOf: ClosedError });
  t.is(err?.code, 'ERR_PKT_CLOSED');
  const r = readPcapng(await readFile(path));
  t.is(r.packets.length, 1);
  t.is(r.stats[0]!.ifDrop, 0, 'the ISB was taken at close');
});

test('an empty capture is a valid file: SHB only, or SHB and IDBs with ISBs', async (t) => {
  const s1 = new MemorySink();
  await CaptureFile.toSink(s1, { flushIntervalMs: 0 }).close();
  t.true(s1.closed);
  t.deepEqual(readPcapng(s1.bytes()).blocks.map((b) => b.type), [0x0a0d0d0a]);
  const s2 = new MemorySink();
  const cap = CaptureFile.toSink(s2, { flushIntervalMs: 0 });
  cap.addInterface('a', LINKTYPE_ETHERNET);
  await cap.close();
  t.deepEqual(readPcapng(s2.bytes()).blocks.map((b) => b.type), [0x0a0d0d0a, 1, 5]);
});

test('a failing disk: taps keep not throwing, drops are counted, close rejects with ERR_PKT_IO', async (t) => {
  const sink = new FailingSink();
  const cap = CaptureFile.toSink(sink, { flushIntervalMs: 0 }, '/full/disk.pcapng');
  const tap = cap.addInterface('eth', LINKTYPE_ETHERNET);
  tap.tap(new Uint8Array(64), TapDirection.In);
  const flushErr = await t.throwsAsync(cap.flush(), { instanceOf: PktError });
  t.is(flushErr?.code, 'ERR_PKT_IO');
  t.regex(flushErr!.message, /\/full\/disk\.pcapng.*ENOSPC/);
  t.notThrows(() => tap.tap(new Uint8Array(64), TapDirection.In));
  t.is(tap.drops, 1);
  const closeErr = await t.throwsAsync(cap.close(), { instanceOf: PktError });
  t.is(closeErr?.code, 'ERR_PKT_IO');
  t.true(closeErr?.cause instanceof Error);
  t.true(sink.closed, 'the sink is closed even after a failure');
});

test('a clock that throws costs a counted drop, never an exception', async (t) => {
  let broken = false;
  const clock = {
    now: () => {
      if (broken) throw new Error('clock gone');
      return T0_MS;
    },
  };
  const sink = new MemorySink();
  const cap = CaptureFile.toSink(sink, { clock, flushIntervalMs: 0 });
  const tap = cap.addInterface('x', LINKTYPE_RAW);
  broken = true;
  t.notThrows(() => tap.tap(fromHex(KERNEL_IPV4_UDP), TapDirection.In));
  t.is(tap.drops, 1);
  broken = false;
  tap.tap(fromHex(KERNEL_IPV4_UDP), TapDirection.In);
  await cap.close();
  t.is(readPcapng(sink.bytes()).packets.length, 1);
});

test('bad options are refused before any file is created', async (t) => {
  const path = join(dir, 'never.pcapng');
  await t.throwsAsync(CaptureFile.open(path, { format: 'pcapx' as 'pcap' }), { code: 'ERR_PKT_INVALID_ARG' });
  await t.throwsAsync(CaptureFile.open(path, { snaplen: 0 }), { code: 'ERR_PKT_OUT_OF_RANGE' });
  await t.throwsAsync(CaptureFile.open(path, { snaplen: 262145 }), { code: 'ERR_PKT_OUT_OF_RANGE' });
  await t.throwsAsync(CaptureFile.open(path, { maxBufferedBytes: 0.5 }), { code: 'ERR_PKT_OUT_OF_RANGE' });
  await t.throwsAsync(CaptureFile.open(path, { clock: {} as { now(): number } }), { code: 'ERR_PKT_INVALID_ARG' });
  await t.throwsAsync(stat(path), { code: 'ENOENT' });
  await t.throwsAsync(CaptureFile.open(join(dir, 'no', 'such', 'dir.pcapng')), { code: 'ERR_PKT_IO' });
  const cap = CaptureFile.toSink(new MemorySink(), { flushIntervalMs: 0 });
  t.throws(() => cap.addInterface('x', 0x10000), { code: 'ERR_PKT_OUT_OF_RANGE' });
  t.throws(() => cap.addInterface('x'.repeat(1025), 1), { code: 'ERR_PKT_INVALID_ARG' });
  await cap.close();
});
