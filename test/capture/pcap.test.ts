import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CaptureFile,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PCAP_FILE_HEADER_LEN,
  emitPcapHeader,
  emitPcapRecord,
  encodePcapHeader,
  pcapRecordLen,
} from '../../src/capture/index.js';
import { TapDirection } from '../../src/core/device.js';
import { ConfigError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { MemorySink, SlowSink, StepClock, ethForIp, pipeL2, pipeL3 } from '../helpers/capture-doubles.js';
import { readPcap } from '../helpers/pcap-reader.js';
import { KERNEL_IPV4_TCP_SYN, KERNEL_IPV4_UDP, KERNEL_IPV6_TCP_SYN, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

const MAC_A = 0x02_00_00_00_00_0a;
const MAC_B = 0x02_00_00_00_00_0b;

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pktkit-pcap-'));
});
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

// Golden bytes laid out by hand from draft-ietf-opsawg-pcap §4 and §5, little-endian.

test('file header golden bytes: microsecond magic, version 2.4, snaplen, link type', (t) => {
  const b = filled(2 + PCAP_FILE_HEADER_LEN + 2);
  t.is(emitPcapHeader({ snaplen: 65535, linkType: LINKTYPE_RAW, nanos: false }, b, 2), 24);
  t.is(
    toHex(b),
    'a5a5' +
      'd4c3b2a1' + // 0xa1b2c3d4
      '0200' + '0400' +
      '00000000' + '00000000' + // reserved (thiszone, sigfigs)
      'ffff0000' + // snaplen
      '65000000' + // LINKTYPE_RAW 101
      'a5a5',
  );
  t.is(toHex(encodePcapHeader({ snaplen: 1, linkType: 1, nanos: true }), 0, 4), '4d3cb2a1', 'nanosecond magic 0xa1b23c4d');
});

test('record golden bytes: seconds, microseconds, captured and original length, unpadded data', (t) => {
  const b = filled(1 + 19 + 1);
  t.is(pcapRecordLen(3), 19);
  t.is(emitPcapRecord(b, 1, 1_700_000_000, 999_999, fromHex('aabbccdd'), 3, 10), 19);
  t.is(toHex(b), 'a5' + '00f15365' + '3f420f00' + '03000000' + '0a000000' + 'aabbcc' + 'a5');
});

test('tapL3 on two raw-IP devices share one pcap; data, times and truncation read back', async (t) => {
  const path = join(dir, 'l3.pcap');
  // 2023-11-14T22:13:20.999999.6 UTC: floored to the microsecond, then 1 ms steps cross a second.
  const cap = await CaptureFile.open(path, { format: 'pcap', snaplen: 64, clock: new StepClock(1_700_000_000_999.9996, 1), flushIntervalMs: 0 });
  t.is(cap.format, 'pcap');
  const [x, y] = pipeL3();
  const [u, v] = pipeL3();
  const tx = cap.tapL3(x, 'tun0');
  const tu = cap.tapL3(u, 'tun1');
  const gotY: string[] = [];
  const gotTu: string[] = [];
  tx.setHandler(() => {});
  y.setHandler((p) => gotY.push(toHex(p)));
  tu.setHandler((p) => gotTu.push(toHex(p)));
  tx.send(fromHex(KERNEL_IPV4_UDP)); // 48 bytes
  v.send(fromHex(KERNEL_IPV6_TCP_SYN)); // 80 bytes: truncated to 64
  tu.send(fromHex(KERNEL_IPV6_UDP)); // 68 bytes: truncated to 64
  t.deepEqual(gotY, [KERNEL_IPV4_UDP]);
  t.deepEqual(gotTu, [KERNEL_IPV6_TCP_SYN], 'the receiver gets the whole packet; only the record is truncated');
  await cap.close();

  const r = readPcap(await readFile(path));
  t.false(r.nanos);
  t.is(r.linkType, LINKTYPE_RAW);
  t.is(r.snaplen, 64);
  t.deepEqual(
    r.packets.map((p) => [p.tsSec, p.tsFrac, p.capLen, p.origLen, toHex(p.data)]),
    [
      // The clock is read once per interface added (two), then once per packet.
      [1_700_000_001, 1_999, 48, 48, KERNEL_IPV4_UDP],
      [1_700_000_001, 2_999, 64, 80, KERNEL_IPV6_TCP_SYN.slice(0, 128)],
      [1_700_000_001, 3_999, 64, 68, KERNEL_IPV6_UDP.slice(0, 128)],
    ],
  );
  t.deepEqual(
    cap.stats().interfaces.map((s) => [s.name, s.linkType, s.packets, s.bytes, s.drops]),
    [
      ['tun0', 101, 1, 48, 0],
      ['tun1', 101, 2, 148, 0],
    ],
  );
});

test('the microsecond split floors and carries into the seconds', async (t) => {
  const times = [1_700_000_000_999.9996, 1_700_000_001_000, 1_700_000_000_000.0004, 0.0015];
  let i = 0;
  const sink = new MemorySink();
  const cap = CaptureFile.toSink(sink, { format: 'pcap', clock: { now: () => times[i++ % times.length]! }, flushIntervalMs: 0 });
  const tap = cap.addInterface('x', LINKTYPE_RAW); // reads times[0]
  i = 0;
  for (let n = 0; n < times.length; n++) tap.tap(new Uint8Array(20), TapDirection.In);
  await cap.close();
  t.deepEqual(
    readPcap(sink.bytes()).packets.map((p) => [p.tsSec, p.tsFrac]),
    [
      [1_700_000_000, 999_999],
      [1_700_000_001, 0],
      [1_700_000_000, 0],
      [0, 1],
    ],
  );
});

test('a classic pcap holds one link type: a second, different one is a ConfigError; the same one is fine', async (t) => {
  const sink = new MemorySink();
  const cap = CaptureFile.toSink(sink, { format: 'pcap', flushIntervalMs: 0 }, 'one.pcap');
  const [a, b] = pipeL2(MAC_A, MAC_B);
  const ta = cap.tapL2(a, 'vm0');
  cap.tapL2(b, 'vm1');
  const [x] = pipeL3();
  const err = t.throws(() => cap.tapL3(x, 'tun0'), { instanceOf: ConfigError });
  t.is(err?.code, 'ERR_PKT_CONFIG');
  t.regex(err!.message, /one link type.*ETHERNET \(1\).*'vm0'.*RAW \(101\).*'tun0'.*pcapng/);
  t.throws(() => cap.addInterface('x', 105), { code: 'ERR_PKT_CONFIG' });
  t.is(cap.stats().interfaces.length, 2, 'the refused interface was not added');

  ta.setHandler(() => {});
  const f = ethForIp(MAC_B, MAC_A, fromHex(KERNEL_IPV4_TCP_SYN));
  ta.send(f);
  b.send(f);
  await cap.close();
  const r = readPcap(sink.bytes());
  t.is(r.linkType, LINKTYPE_ETHERNET);
  t.is(r.packets.length, 2);
  t.is(toHex(r.packets[1]!.data), toHex(f));
});

test('an empty classic pcap is a valid file (header only, Ethernet)', async (t) => {
  const path = join(dir, 'empty.pcap');
  const cap = await CaptureFile.open(path, { format: 'pcap', flushIntervalMs: 0 });
  await cap.close();
  const bytes = await readFile(path);
  t.is(bytes.length, 24);
  const r = readPcap(bytes);
  t.is(r.linkType, LINKTYPE_ETHERNET);
  t.is(r.packets.length, 0);
});

test('drops at the buffer bound are counted, and close writes what was kept', async (t) => {
  const sink = new SlowSink();
  // Header 24 + one 48-byte packet record (64) fits in 100; the next does not.
  const cap = CaptureFile.toSink(sink, { format: 'pcap', maxBufferedBytes: 100, flushIntervalMs: 0 });
  const tap = cap.addInterface('tun0', LINKTYPE_RAW);
  for (let i = 0; i < 5; i++) tap.tap(fromHex(KERNEL_IPV4_UDP), TapDirection.In);
  t.deepEqual([tap.packets, tap.drops], [1, 4]);
  const closing = cap.close();
  tap.tap(fromHex(KERNEL_IPV4_UDP), TapDirection.In);
  t.is(tap.drops, 5, 'tapping after close drops and counts');
  sink.autoRelease();
  await closing;
  t.true(sink.closed);
  const r = readPcap(sink.bytes());
  t.is(r.packets.length, 1);
  t.is(toHex(r.packets[0]!.data), KERNEL_IPV4_UDP);
});
