import test from 'ava';
import fc from 'fast-check';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CaptureFile,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  emitEpb,
  emitIdb,
  emitIsb,
  emitShb,
  encodeIdb,
  encodeShb,
  epbLen,
  idbEmitLen,
  isbEmitLen,
  shbEmitLen,
  timestampHigh,
  timestampLow,
} from '../../src/capture/index.js';
import { TapDirection } from '../../src/core/device.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { MemorySink, SlowSink, StepClock, ethForIp, pipeL2, pipeL3 } from '../helpers/capture-doubles.js';
import { readPcapng } from '../helpers/pcap-reader.js';
import {
  KERNEL_IPV4_TCP_SYN,
  KERNEL_IPV4_UDP,
  KERNEL_IPV6_ICMPV6_ECHO,
  KERNEL_IPV6_TCP_SYN,
  KERNEL_IPV6_UDP,
} from '../vectors/kernel-tun.js';

const MAC_A = 0x02_00_00_00_00_0a;
const MAC_B = 0x02_00_00_00_00_0b;
/** 2023-11-14T22:13:20.123456 UTC in milliseconds, with a sub-microsecond tail that must be floored. */
const T0_MS = 1_700_000_000_123.4567;
const T0_US = 1_700_000_000_123_456;

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pktkit-pcapng-'));
});
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Block encoders: golden bytes laid out by hand from draft-ietf-opsawg-pcapng, little-endian.

test('SHB golden bytes (§4.1): magic, version 1.0, section length -1, shb_userappl', (t) => {
  const b = filled(3 + 44 + 2);
  const n = emitShb({ userAppl: 'pktkit' }, b, 3);
  t.is(n, 44);
  t.is(shbEmitLen({ userAppl: 'pktkit' }), 44);
  t.is(
    toHex(b),
    'a5a5a5' +
      '0a0d0d0a' + // block type
      '2c000000' + // block total length 44
      '4d3c2b1a' + // byte-order magic 0x1A2B3C4D
      '0100' + '0000' + // major 1, minor 0
      'ffffffffffffffff' + // section length -1
      '0400' + '0600' + '706b746b6974' + '0000' + // shb_userappl "pktkit", padded to 8
      '0000' + '0000' + // opt_endofopt
      '2c000000' + // block total length again
      'a5a5',
  );
});

test('SHB without options has no opt_endofopt', (t) => {
  t.is(toHex(encodeShb({})), '0a0d0d0a' + '1c000000' + '4d3c2b1a' + '01000000' + 'ffffffffffffffff' + '1c000000');
});

test('IDB golden bytes (§4.2): link type, reserved 0, snaplen, if_name, if_tsresol', (t) => {
  const f = { linkType: LINKTYPE_ETHERNET, snaplen: 65535, name: 'eth0', tsresol: 6 };
  const b = filled(1 + 40 + 1);
  t.is(emitIdb(f, b, 1), 40);
  t.is(idbEmitLen(f), 40);
  t.is(
    toHex(b),
    'a5' +
      '01000000' + '28000000' +
      '0100' + '0000' + // LINKTYPE_ETHERNET, reserved
      'ffff0000' + // snaplen 65535
      '0200' + '0400' + '65746830' + // if_name "eth0" (4 bytes: no padding)
      '0900' + '0100' + '06' + '000000' + // if_tsresol 6, padded
      '00000000' + // opt_endofopt
      '28000000' +
      'a5',
  );
});

test('EPB golden bytes (§4.3): 64-bit timestamp as upper/lower u32, truncated data padded, epb_flags', (t) => {
  const data = fromHex('a1a2a3a4a5a6a7');
  const ts = 0x0005_ed0f_1234_5678; // below 2^53: exact as a number
  const b = filled(2 + 52 + 2);
  t.is(epbLen(5), 52);
  t.is(emitEpb(b, 2, 1, timestampHigh(ts), timestampLow(ts), data, 5, 7, TapDirection.Out), 52);
  t.is(
    toHex(b),
    'a5a5' +
      '06000000' + '34000000' +
      '01000000' + // interface id 1
      '0fed0500' + // timestamp upper 32 bits
      '78563412' + // timestamp lower 32 bits
      '05000000' + '07000000' + // captured 5 of original 7
      'a1a2a3a4a5' + '000000' + // data, zero padding to 32 bits
      '0200' + '0400' + '02000000' + // epb_flags: outbound (bits 0-1 = 10)
      '00000000' + // opt_endofopt
      '34000000' +
      'a5a5',
  );
});

test('EPB: inbound flag, empty packet, whole packet copied', (t) => {
  const b = filled(epbLen(0));
  emitEpb(b, 0, 0, 0, 0, new Uint8Array(0), 0, 0, TapDirection.In);
  t.is(toHex(b), '06000000' + '2c000000' + '00000000' + '0000000000000000' + '00000000' + '00000000' + '0200040001000000' + '00000000' + '2c000000');
  const four = filled(epbLen(4));
  emitEpb(four, 0, 0, 0, 1, fromHex('01020304'), 4, 4, TapDirection.In);
  t.is(toHex(four, 28, 4), '01020304', 'no padding needed at 4 bytes');
  t.is(toHex(four, 32, 4), '02000400');
});

test('ISB golden bytes (§4.6): timestamps upper-first, counters as u64 little-endian', (t) => {
  const f = {
    interfaceId: 0,
    timestamp: 0x1_0000_0002,
    startTime: 3,
    endTime: 0x1_0000_0002,
    ifRecv: 0x1_0000_0005,
    ifDrop: 3,
    usrDeliv: 7,
  };
  const b = filled(88 + 4);
  t.is(isbEmitLen(f), 88);
  t.is(emitIsb(f, b, 4), 88);
  t.is(
    toHex(b),
    'a5a5a5a5' +
      '05000000' + '58000000' +
      '00000000' + // interface id
      '01000000' + '02000000' + // timestamp: upper, lower
      '0200' + '0800' + '00000000' + '03000000' + // isb_starttime
      '0300' + '0800' + '01000000' + '02000000' + // isb_endtime
      '0400' + '0800' + '05000000' + '01000000' + // isb_ifrecv 2^32 + 5 (u64 LE)
      '0500' + '0800' + '03000000' + '00000000' + // isb_ifdrop 3
      '0800' + '0800' + '07000000' + '00000000' + // isb_usrdeliv 7
      '00000000' +
      '58000000',
  );
});

test('encoders round-trip through the strict reader, also at an offset in a larger buffer', (t) => {
  const shb = encodeShb({ userAppl: 'pktkit ünïcode' });
  const idb0 = encodeIdb({ linkType: LINKTYPE_ETHERNET, snaplen: 1514, name: 'hub-port-0', tsresol: 6 });
  const idb1 = encodeIdb({ linkType: LINKTYPE_RAW, snaplen: 0, name: 'tun0' });
  const pkt = fromHex(KERNEL_IPV6_UDP);
  const total = shb.length + idb0.length + idb1.length + epbLen(pkt.length) + isbEmitLen({ interfaceId: 1, timestamp: 9, ifDrop: 0 });
  const b = filled(total + 8);
  let off = 8;
  b.set(shb, off);
  off += shb.length;
  b.set(idb0, off);
  off += idb0.length;
  b.set(idb1, off);
  off += idb1.length;
  off += emitEpb(b, off, 1, timestampHigh(T0_US), timestampLow(T0_US), pkt, pkt.length, pkt.length, TapDirection.In);
  off += emitIsb({ interfaceId: 1, timestamp: 9, ifDrop: 0 }, b, off);
  t.is(off, b.length);
  const r = readPcapng(b.subarray(8));
  t.is(r.shb.userAppl, 'pktkit ünïcode');
  t.deepEqual(
    r.interfaces.map((i) => [i.linkType, i.snaplen, i.name, i.tsresol]),
    [
      [1, 1514, 'hub-port-0', 6],
      [101, 0, 'tun0', undefined],
    ],
  );
  t.is(r.packets.length, 1);
  t.is(r.packets[0]!.timestamp, T0_US);
  t.is(toHex(r.packets[0]!.data), KERNEL_IPV6_UDP);
  t.is(r.packets[0]!.flags, 1);
  t.is(r.stats[0]!.ifDrop, 0);
  t.is(r.stats[0]!.ifRecv, undefined);
  // Re-encoding what was read gives the same bytes.
  const again = new Uint8Array(epbLen(pkt.length));
  const p0 = r.packets[0]!;
  emitEpb(again, 0, p0.interfaceId, timestampHigh(p0.timestamp), timestampLow(p0.timestamp), p0.data, p0.capLen, p0.origLen, p0.flags!);
  t.is(toHex(again), toHex(b, 8 + shb.length + idb0.length + idb1.length, again.length));
});

test('the strict reader rejects a wrong trailing length, nonzero padding and a missing opt_endofopt', (t) => {
  const good = encodeShb({ userAppl: 'pktkit' });
  const badTrailer = good.slice();
  badTrailer[badTrailer.length - 4] = 0x30;
  t.throws(() => readPcapng(badTrailer), { message: /trailing block total length/ });
  const badPad = good.slice();
  badPad[24 + 4 + 6] = 1;
  t.throws(() => readPcapng(badPad), { message: /padding/ });
  const noEnd = good.slice();
  noEnd[36] = 1; // opt_endofopt becomes opt_comment of length 0
  t.throws(() => readPcapng(noEnd), { message: /opt_endofopt/ });
});

// ---------------------------------------------------------------------------------------------
// CaptureFile into real files

test('tapL2 and tapL3 record both directions with names, link types, timestamps and statistics', async (t) => {
  const path = join(dir, 'taps.pcapng');
  const clock = new StepClock(T0_MS, 0.5);
  const cap = await CaptureFile.open(path, { snaplen: 65535, clock, flushIntervalMs: 0 });
  const [a, b] = pipeL2(MAC_A, MAC_B);
  const [x, y] = pipeL3();
  const ta = cap.tapL2(a, 'vm0');
  const tx = cap.tapL3(x, 'tun0');
  const gotByTa: string[] = [];
  const gotByB: string[] = [];
  const gotByTx: string[] = [];
  const gotByY: string[] = [];
  ta.setHandler((f) => gotByTa.push(toHex(f)));
  b.setHandler((f) => gotByB.push(toHex(f)));
  tx.setHandler((p) => gotByTx.push(toHex(p)));
  y.setHandler((p) => gotByY.push(toHex(p)));

  const f1 = ethForIp(MAC_A, MAC_B, fromHex(KERNEL_IPV4_UDP));
  const f2 = ethForIp(MAC_B, MAC_A, fromHex(KERNEL_IPV6_TCP_SYN));
  const p1 = fromHex(KERNEL_IPV4_TCP_SYN);
  const p2 = fromHex(KERNEL_IPV6_ICMPV6_ECHO);
  ta.send(f1); // into the wrapped device: In
  b.send(f2); // out of the wrapped device: Out
  tx.send(p1);
  y.send(p2);

  // Transparent: the frames crossed unchanged, the handlers saw them.
  t.deepEqual(gotByB, [toHex(f1)]);
  t.deepEqual(gotByTa, [toHex(f2)]);
  t.deepEqual(gotByY, [toHex(p1)]);
  t.deepEqual(gotByTx, [toHex(p2)]);

  await cap.close();
  const r = readPcapng(await readFile(path));
  t.is(r.shb.userAppl, 'pktkit');
  t.deepEqual(
    r.interfaces.map((i) => ({ linkType: i.linkType, name: i.name, snaplen: i.snaplen, tsresol: i.tsresol })),
    [
      { linkType: LINKTYPE_ETHERNET, name: 'vm0', snaplen: 65535, tsresol: 6 },
      { linkType: LINKTYPE_RAW, name: 'tun0', snaplen: 65535, tsresol: 6 },
    ],
  );
  t.deepEqual(
    r.packets.map((p) => [p.interfaceId, p.flags, toHex(p.data), p.capLen, p.origLen]),
    [
      [0, TapDirection.In, toHex(f1), f1.length, f1.length],
      [0, TapDirection.Out, toHex(f2), f2.length, f2.length],
      [1, TapDirection.In, toHex(p1), p1.length, p1.length],
      [1, TapDirection.Out, toHex(p2), p2.length, p2.length],
    ],
  );
  // The clock is read once per interface added, then once per packet: 0.5 ms = 500 µs apart.
  t.deepEqual(
    r.packets.map((p) => p.timestamp - T0_US),
    [1000, 1500, 2000, 2500],
  );
  t.deepEqual(
    r.stats.map((s) => [s.interfaceId, s.ifRecv, s.ifDrop, s.usrDeliv, s.startTime! - T0_US, s.endTime! - T0_US]),
    [
      [0, 2, 0, 2, 0, 3000],
      [1, 2, 0, 2, 500, 3000],
    ],
  );
  t.deepEqual(cap.stats(), {
    packets: 4,
    bytes: f1.length + f2.length + p1.length + p2.length,
    drops: 0,
    interfaces: [
      { id: 0, name: 'vm0', linkType: 1, packets: 2, bytes: f1.length + f2.length, drops: 0 },
      { id: 1, name: 'tun0', linkType: 101, packets: 2, bytes: p1.length + p2.length, drops: 0 },
    ],
  });
  t.is((await stat(path)).size, r.blocks.reduce((n, blk) => n + blk.length, 0));
});

test('packets longer than snaplen are truncated with their original length recorded', async (t) => {
  const path = join(dir, 'snap.pcapng');
  const cap = await CaptureFile.open(path, { snaplen: 60 }); // default flush timer: unref'd, cleared by close
  const tap = cap.addInterface('tun0', LINKTYPE_RAW);
  const long = fromHex(KERNEL_IPV6_TCP_SYN); // 80 bytes
  const short = fromHex(KERNEL_IPV4_UDP); // 48 bytes
  const exact = long.slice(0, 60);
  tap.tap(long, TapDirection.In);
  tap.tap(short, TapDirection.Out);
  tap.tap(exact, TapDirection.Out);
  await cap.close();
  const r = readPcapng(await readFile(path));
  t.is(r.interfaces[0]!.snaplen, 60);
  t.deepEqual(
    r.packets.map((p) => [p.capLen, p.origLen, toHex(p.data)]),
    [
      [60, 80, toHex(long, 0, 60)],
      [48, 48, KERNEL_IPV4_UDP],
      [60, 60, toHex(exact)],
    ],
  );
  t.is(cap.stats().bytes, 80 + 48 + 60, 'bytes count original lengths');
});

test('close flushes everything across many chunks, in order', async (t) => {
  const path = join(dir, 'many.pcapng');
  const cap = await CaptureFile.open(path, { snaplen: 2048, clock: new StepClock(T0_MS, 0.001), flushIntervalMs: 0 });
  const tap = cap.addInterface('eth', LINKTYPE_ETHERNET);
  const n = 3000; // about 4.7 MB of EPBs at ~1.5 KB each: > 70 chunks of 64 KiB, > the 4 MiB bound
  const frame = new Uint8Array(1514);
  let accepted = 0;
  for (let i = 0; i < n; i++) {
    frame[0] = i & 0xff;
    frame[1] = i >> 8;
    tap.tap(frame, i % 2 === 0 ? TapDirection.In : TapDirection.Out);
    if (i % 100 === 99) await new Promise((r) => setImmediate(r)); // let the writer run now and then
    accepted = cap.stats().packets;
  }
  await cap.close();
  const r = readPcapng(await readFile(path));
  t.is(r.packets.length, accepted);
  t.is(accepted + cap.stats().drops, n);
  let prev = -1;
  for (const p of r.packets) {
    const i = p.data[0]! | (p.data[1]! << 8);
    t.true(i > prev, 'in tapped order');
    t.is(p.flags, i % 2 === 0 ? 1 : 2);
    prev = i;
  }
  t.is(r.stats[0]!.ifDrop, cap.stats().drops);
});

// ---------------------------------------------------------------------------------------------
// Bounded buffering

test('drops are counted per interface once the buffer bound is hit, and land in the ISB', async (t) => {
  const sink = new SlowSink();
  const bound = 64 * 1024;
  const cap = CaptureFile.toSink(sink, { snaplen: 1500, maxBufferedBytes: bound, flushIntervalMs: 0 });
  const busy = cap.addInterface('busy', LINKTYPE_RAW);
  const quiet = cap.addInterface('quiet', LINKTYPE_RAW);
  const meta = shbEmitLen({ userAppl: 'pktkit' }) + 2 * idbEmitLen({ linkType: 101, snaplen: 1500, name: 'busy', tsresol: 6 }) + 4;
  t.is(cap.bufferedBytes, meta);
  const pkt = new Uint8Array(1000);
  const rec = epbLen(1000);
  const fits = Math.floor((bound - meta) / rec);
  for (let i = 0; i < 100; i++) busy.tap(pkt, TapDirection.In);
  t.is(busy.packets, fits);
  t.is(busy.drops, 100 - fits);
  t.is(cap.bufferedBytes, meta + fits * rec);
  quiet.tap(pkt, TapDirection.Out);
  t.is(quiet.drops, 1, 'the bound is per file; drops are counted on the interface that lost the packet');

  // The slow disk has the bytes in flight: still counted as waiting, still dropping.
  const flushed = cap.flush();
  t.is(sink.pendingWrites, 1);
  busy.tap(pkt, TapDirection.In);
  t.is(busy.drops, 101 - fits);

  // Once written, room again.
  sink.release();
  await flushed;
  t.is(cap.bufferedBytes, 0);
  busy.tap(pkt, TapDirection.In);
  quiet.tap(pkt, TapDirection.Out);
  t.is(busy.packets, fits + 1);
  t.is(quiet.packets, 1);

  sink.autoRelease();
  await cap.close();
  const r = readPcapng(sink.bytes());
  t.is(r.packets.filter((p) => p.interfaceId === 0).length, fits + 1);
  t.is(r.packets.filter((p) => p.interfaceId === 1).length, 1);
  t.deepEqual(
    r.stats.map((s) => [s.interfaceId, s.ifRecv, s.ifDrop, s.usrDeliv]),
    [
      [0, 102, 101 - fits, fits + 1],
      [1, 2, 1, 1],
    ],
  );
  t.deepEqual(
    cap.stats().interfaces.map((s) => s.drops),
    [101 - fits, 1],
  );
});

test('under a slow disk, queued chunks are written in order and never reused before their write completes', async (t) => {
  const sink = new SlowSink();
  const bound = 200_000;
  const cap = CaptureFile.toSink(sink, { snaplen: 1500, maxBufferedBytes: bound, flushIntervalMs: 0 });
  const tap = cap.addInterface('eth', LINKTYPE_ETHERNET);
  const meta = cap.bufferedBytes;
  const rec = epbLen(1000);
  const pkt = new Uint8Array(1000);
  for (let i = 0; i < 1000; i++) {
    pkt.fill(i & 0xff);
    tap.tap(pkt, TapDirection.In);
  }
  const fits = Math.floor((bound - meta) / rec);
  t.is(tap.packets, fits);
  t.is(tap.drops, 1000 - fits);
  t.true(sink.pendingWrites <= 1, 'one write at a time');
  sink.autoRelease();
  await cap.close();
  const r = readPcapng(sink.bytes());
  t.is(r.packets.length, fits);
  r.packets.forEach((p, i) => t.true(p.data.every((v) => v === (i & 0xff)), `packet ${i} intact`));
  t.is(r.stats[0]!.ifDrop, 1000 - fits);
});

// ---------------------------------------------------------------------------------------------
// Properties

const packetArb = fc.record({
  data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  iface: fc.integer({ min: 0, max: 1 }),
  dir: fc.constantFrom(TapDirection.In, TapDirection.Out),
});

test('property: whatever is tapped reads back identically (clamped to snaplen), in order', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(packetArb, { maxLength: 60 }), fc.integer({ min: 1, max: 400 }), async (pkts, snaplen) => {
      const sink = new MemorySink();
      const cap = CaptureFile.toSink(sink, { snaplen, clock: new StepClock(T0_MS, 1), flushIntervalMs: 0 });
      const taps = [cap.addInterface('a', LINKTYPE_ETHERNET), cap.addInterface('b', LINKTYPE_RAW)];
      for (const p of pkts) taps[p.iface]!.tap(p.data, p.dir);
      await cap.close();
      const r = readPcapng(sink.bytes());
      if (r.packets.length !== pkts.length) return false;
      return pkts.every((p, i) => {
        const got = r.packets[i]!;
        const capLen = Math.min(snaplen, p.data.length);
        return (
          got.interfaceId === p.iface &&
          got.flags === p.dir &&
          got.origLen === p.data.length &&
          got.capLen === capLen &&
          toHex(got.data) === toHex(p.data, 0, capLen) &&
          got.timestamp === T0_US + (i + 2) * 1000
        );
      });
    }),
    { numRuns: 150 },
  );
  t.pass();
});
