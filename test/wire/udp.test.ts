import test from 'ava';
import fc from 'fast-check';
import {
  UDP_HEADER_LEN,
  UdpView,
  decodeUdp,
  emitUdp,
  emitUdpV4,
  emitUdpV6,
  newUdpFields,
  parseUdp,
  udpEmitLen,
  type UdpFields,
} from '../../src/wire/udp.js';
import { WireStatus } from '../../src/wire/status.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { BoundsProbe, getterNames, readGetters } from '../helpers/bounds.js';
import { KERNEL_IPV4_UDP, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

// kernel-tun.ts holds bare IP packets: IPv4 with a 20-byte header, IPv6 with a 40-byte one
// whose addresses are at 8 and 24.
const V4_UDP = 20;
const V4_SRC = 0x0a63_0001;
const V4_DST = 0x0a63_0002;
const V6_SRC = 8;
const V6_DST = 24;
const V6_UDP = 40;
const PAYLOAD_HEX = toHex(new TextEncoder().encode('pktkit golden vector'));

test('getters on a kernel-written UDP/IPv4 datagram', (t) => {
  const p = fromHex(KERNEL_IPV4_UDP);
  const v = new UdpView().reset(p, V4_UDP);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.srcPort, 40000);
  t.is(v.dstPort, 53);
  t.is(v.length, 28);
  t.is(v.checksum, 0x5487);
  t.is(v.payloadOff, V4_UDP + 8);
  t.is(v.payloadLen, 20);
  t.is(toHex(p, v.payloadOff, v.payloadLen), PAYLOAD_HEX);
  t.true(v.verifyChecksumV4(V4_SRC, V4_DST));
  t.false(v.verifyChecksumV4(V4_SRC, V4_DST + 1), 'the pseudo-header is covered');
});

test('getters on a kernel-written UDP/IPv6 datagram, checksum over the pseudo-header in place', (t) => {
  const p = fromHex(KERNEL_IPV6_UDP);
  const v = new UdpView().reset(p, V6_UDP);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.srcPort, 40002);
  t.is(v.dstPort, 53);
  t.is(v.length, 28);
  t.is(v.checksum, 0x6e17);
  t.true(v.verifyChecksumV6(p, V6_SRC, V6_DST));
  t.false(v.verifyChecksumV6(p, V6_SRC, V6_SRC), 'the pseudo-header is covered');
});

test('setters write exactly their fields into a 0xa5-filled buffer', (t) => {
  const b = filled(12);
  const v = new UdpView().reset(b, 2, 8);
  v.srcPort = 0x1234;
  t.is(toHex(b), 'a5a5' + '1234' + 'a5'.repeat(8));
  v.dstPort = 0xfffe;
  v.length = 8;
  v.checksum = 0x0102;
  t.is(toHex(b), 'a5a5' + '1234fffe00080102' + 'a5a5');
});

test('emitUdpV4 and emitUdpV6 reproduce the kernel datagrams byte for byte', (t) => {
  for (const [hex, off] of [
    [KERNEL_IPV4_UDP, V4_UDP],
    [KERNEL_IPV6_UDP, V6_UDP],
  ] as const) {
    const p = fromHex(hex);
    const f = newUdpFields();
    t.is(parseUdp(new UdpView().reset(p, off), f), WireStatus.Ok);
    const out = filled(p.length);
    out.set(p.subarray(0, off)); // the IP header, whose addresses the IPv6 checksum reads
    out.set(p.subarray(off + UDP_HEADER_LEN), off + UDP_HEADER_LEN); // the data
    const n = off === V4_UDP ? emitUdpV4(f, out, off, V4_SRC, V4_DST) : emitUdpV6(f, out, off, out, V6_SRC, V6_DST);
    t.is(n, UDP_HEADER_LEN);
    t.is(toHex(out), toHex(p));
  }
});

test('emit -> parse -> emit round trip, also at a nonzero offset in a larger buffer', (t) => {
  const f: UdpFields = { srcPort: 68, dstPort: 67, payloadLen: 5 };
  const len = udpEmitLen(f);
  t.is(len, UDP_HEADER_LEN);
  const a = filled(len + f.payloadLen);
  t.is(emitUdp(f, a, 0), len);
  t.is(toHex(a, 0, len), '00440043000d0000', 'zero checksum: "none" over IPv4');
  const parsed = newUdpFields();
  t.is(parseUdp(new UdpView().reset(a), parsed), WireStatus.Ok);
  t.deepEqual(parsed, f);
  const big = filled(len + f.payloadLen + 41);
  t.is(emitUdpV4(parsed, big, 29, 0x0a00_0001, 0xffff_ffff), len);
  t.is(toHex(big, 0, 29), toHex(filled(29)), 'nothing written before the offset');
  t.is(toHex(big, 29 + len), toHex(filled(f.payloadLen + 12)), 'nothing written after the header');
  const v = new UdpView().reset(big, 29, len + f.payloadLen);
  t.true(v.verifyChecksumV4(0x0a00_0001, 0xffff_ffff));
  const again = newUdpFields();
  t.is(parseUdp(v, again), WireStatus.Ok);
  t.deepEqual(again, f);
});

test('over IPv4 a zero checksum means "none"; over IPv6 it is invalid (RFC 8200 §8.1)', (t) => {
  const p4 = fromHex(KERNEL_IPV4_UDP);
  const v4 = new UdpView().reset(p4, V4_UDP);
  v4.checksum = 0;
  t.true(v4.verifyChecksumV4(V4_SRC, V4_DST + 1));
  const p6 = fromHex(KERNEL_IPV6_UDP);
  const v6 = new UdpView().reset(p6, V6_UDP);
  v6.checksum = 0;
  t.false(v6.verifyChecksumV6(p6, V6_SRC, V6_DST));
  v6.fillChecksumV6(p6, V6_SRC, V6_DST);
  t.is(v6.checksum, 0x6e17);
  v4.fillChecksumV4(V4_SRC, V4_DST);
  t.is(v4.checksum, 0x5487);
});

// RFC 768: a computed checksum of zero is sent as all ones. Make the data sum to exactly that:
// putting the first computed checksum into a data word adds its complement to the sum.
test('a computed zero checksum is sent as 0xffff, and verifies, over IPv4 and IPv6', (t) => {
  const f: UdpFields = { srcPort: 1000, dstPort: 2000, payloadLen: 2 };
  const b = new Uint8Array(UDP_HEADER_LEN + 2);
  emitUdpV4(f, b, 0, V4_SRC, V4_DST);
  const v = new UdpView().reset(b);
  b.set([v.checksum >>> 8, v.checksum & 0xff], UDP_HEADER_LEN);
  emitUdpV4(f, b, 0, V4_SRC, V4_DST);
  t.is(v.checksum, 0xffff);
  t.true(v.verifyChecksumV4(V4_SRC, V4_DST));
  v.fillChecksumV4(V4_SRC, V4_DST);
  t.is(v.checksum, 0xffff);

  const addrs = fromHex(KERNEL_IPV6_UDP);
  b.fill(0, UDP_HEADER_LEN);
  emitUdpV6(f, b, 0, addrs, V6_SRC, V6_DST);
  b.set([v.checksum >>> 8, v.checksum & 0xff], UDP_HEADER_LEN);
  emitUdpV6(f, b, 0, addrs, V6_SRC, V6_DST);
  t.is(v.checksum, 0xffff);
  t.true(v.verifyChecksumV6(addrs, V6_SRC, V6_DST));
  v.fillChecksumV6(addrs, V6_SRC, V6_DST);
  t.is(v.checksum, 0xffff);
});

test('bytes after Length are not payload', (t) => {
  const p = fromHex(KERNEL_IPV4_UDP + '0000000000');
  const v = new UdpView().reset(p, V4_UDP);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.payloadLen, 20);
  t.true(v.verifyChecksumV4(V4_SRC, V4_DST), 'the checksum covers Length bytes, not the buffer');
});

const rejects = test.macro({
  exec(t, hex: string, want: WireStatus) {
    t.is(new UdpView().reset(fromHex(hex)).check(), want);
    t.is(parseUdp(new UdpView().reset(fromHex(hex)), newUdpFields()), want);
  },
  title: (what = '', _hex, want) => `check() = ${want}: ${what}`,
});
test('a bare header', rejects, '0035 0035 0008 0000', WireStatus.Ok);
test('shorter than 8 bytes', rejects, '0035 0035 0008 00', WireStatus.Truncated);
test('Length below the header', rejects, '0035 0035 0007 0000', WireStatus.BadLength);
test('Length 0 (an RFC 2675 jumbogram)', rejects, '0035 0035 0000 0000 00', WireStatus.BadLength);
test('Length past the buffer', rejects, '0035 0035 000a 0000 00', WireStatus.Truncated);

test('decodeUdp throws a WireFormatError with a status and a message naming the reason', (t) => {
  const err = t.throws(() => decodeUdp(fromHex('0035 0035 0007 0000'), 0), { instanceOf: WireFormatError });
  t.is(err?.status, WireStatus.BadLength);
  t.regex(err?.message ?? '', /udp: bad-length/);
  t.deepEqual(decodeUdp(fromHex(KERNEL_IPV4_UDP), V4_UDP), { srcPort: 40000, dstPort: 53, payloadLen: 20 });
});

test('property: random bytes never throw, and Ok means every accessor is in bounds', (t) => {
  const v = new UdpView();
  const out = newUdpFields();
  const getters = getterNames(UdpView.prototype);
  // Mostly short random arrays, and some long enough to hold a whole header.
  const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 8, maxLength: 40 }));
  let okRuns = 0;
  const numRuns = 3000;
  fc.assert(
    fc.property(bytesArb, fc.nat(4), fc.boolean(), (raw, lead, fitLength) => {
      if (fitLength && raw.length >= UDP_HEADER_LEN) raw.set([0, raw.length - (raw[7]! & 3)], 4);
      const bytes = new Uint8Array(lead + raw.length);
      bytes.set(raw, lead);
      const probe = new BoundsProbe(bytes).window(lead, bytes.length);
      v.reset(probe.buf, lead);
      const st = parseUdp(v, out);
      if (st !== WireStatus.Ok) return true;
      okRuns++;
      readGetters(v, getters);
      return probe.bad === -1 && v.payloadOff + out.payloadLen <= bytes.length && out.payloadLen >= 0;
    }),
    { numRuns },
  );
  t.true(okRuns > numRuns / 10, `only ${okRuns} of ${numRuns} runs reached Ok`);
});
