import test from 'ava';
import fc from 'fast-check';
import {
  ICMPV6_HEADER_LEN,
  ICMPV6_MIN_QUOTE_LEN,
  Icmpv6ParamProblemCode,
  Icmpv6TimeExceededCode,
  Icmpv6Type,
  Icmpv6UnreachCode,
  Icmpv6View,
  decodeIcmpv6,
  emitIcmpv6,
  icmpv6EmitLen,
  icmpv6IsError,
  newIcmpv6Fields,
  parseIcmpv6,
  type Icmpv6Fields,
} from '../../src/wire/icmpv6.js';
import { be16 } from '../../src/wire/bytes.js';
import { WireStatus } from '../../src/wire/status.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { BoundsProbe, getterNames, readGetters } from '../helpers/bounds.js';
import { KERNEL_IPV6_ICMPV6_ECHO } from '../vectors/kernel-tun.js';
import {
  KERNEL_ICMP6_ECHO_REPLY,
  KERNEL_ICMP6_PACKET_TOO_BIG,
  KERNEL_ICMP6_PARAM_PROBLEM,
  KERNEL_ICMP6_PORT_UNREACHABLE,
  KERNEL_ICMP6_TIME_EXCEEDED,
} from '../vectors/kernel-tap.js';

// IPv6 header fields used to find the message (RFC 8200 §3); the vectors have no extension headers.
const ETH = 14;
const IP6_PAYLOAD_LEN = 4;
const IP6_NEXT_HEADER = 6;
const IP6_SRC = 8;
const IP6_DST = 24;
const IP6_HEADER_LEN = 40;

interface Captured {
  v: Icmpv6View;
  srcOff: number;
  dstOff: number;
}

/** The ICMPv6 message of a captured packet, and where its pseudo-header addresses are. */
function icmp6Of(hex: string, ipOff = ETH): Captured {
  const p = fromHex(hex);
  if (p[ipOff]! >>> 4 !== 6 || p[ipOff + IP6_NEXT_HEADER] !== 58) throw new Error('vector is not ICMPv6');
  const v = new Icmpv6View().reset(p, ipOff + IP6_HEADER_LEN, be16(p, ipOff + IP6_PAYLOAD_LEN));
  return { v, srcOff: ipOff + IP6_SRC, dstOff: ipOff + IP6_DST };
}

test('getters on a kernel-written echo reply and the kernel ping socket\'s echo request', (t) => {
  const { v, srcOff, dstOff } = icmp6Of(KERNEL_ICMP6_ECHO_REPLY);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.type, Icmpv6Type.EchoReply);
  t.is(v.code, 0);
  t.is(v.checksum, 0x6285);
  t.true(v.verifyChecksum(v.buf, srcOff, dstOff));
  t.false(v.verifyChecksum(v.buf, srcOff, srcOff), 'the pseudo-header is covered');
  t.is(v.ident, 0x7070);
  t.is(v.seq, 1);
  t.false(v.isError);
  t.is(new TextDecoder().decode(v.buf.subarray(v.payloadOff, v.payloadOff + v.payloadLen)), 'pktkit golden');

  const req = icmp6Of(KERNEL_IPV6_ICMPV6_ECHO, 0);
  t.is(req.v.type, Icmpv6Type.EchoRequest);
  t.is(req.v.ident, 0xacd3);
  t.is(req.v.seq, 1);
  t.true(req.v.verifyChecksum(req.v.buf, req.srcOff, req.dstOff));
});

test('getters on a kernel-written port unreachable: the quote starts with our IPv6 header', (t) => {
  const { v, srcOff, dstOff } = icmp6Of(KERNEL_ICMP6_PORT_UNREACHABLE);
  t.is(v.type, Icmpv6Type.DestUnreachable);
  t.is(v.code, Icmpv6UnreachCode.Port);
  t.true(v.isError);
  t.true(v.verifyChecksum(v.buf, srcOff, dstOff));
  t.is(v.quoteOff, ETH + IP6_HEADER_LEN + ICMPV6_HEADER_LEN);
  t.is(v.quoteLen, 68);
  t.is(v.buf[v.quoteOff]! >>> 4, 6);
  t.is(v.buf[v.quoteOff + IP6_NEXT_HEADER], 17);
  t.is(toHex(v.buf, v.quoteOff + IP6_DST, 16), toHex(v.buf, srcOff, 16), 'we wrote to the kernel that answers');
  t.is(be16(v.buf, v.quoteOff + IP6_HEADER_LEN + 2), 9, 'UDP destination port');
});

test('getters on a kernel-written Packet Too Big: MTU, and a quote cut to fit 1280 bytes', (t) => {
  const { v, srcOff, dstOff } = icmp6Of(KERNEL_ICMP6_PACKET_TOO_BIG);
  t.is(v.type, Icmpv6Type.PacketTooBig);
  t.is(v.code, 0);
  t.is(v.mtu, 1280);
  t.true(v.verifyChecksum(v.buf, srcOff, dstOff));
  t.is(IP6_HEADER_LEN + v.len, 1280);
  t.is(be16(v.buf, v.quoteOff + IP6_PAYLOAD_LEN), 1288, 'the quoted header still says 1288');
  t.true(v.quoteLen < IP6_HEADER_LEN + 1288);
});

test('getters on a kernel-written Parameter Problem and Time Exceeded', (t) => {
  const pp = icmp6Of(KERNEL_ICMP6_PARAM_PROBLEM);
  t.is(pp.v.type, Icmpv6Type.ParamProblem);
  t.is(pp.v.code, Icmpv6ParamProblemCode.NextHeader);
  t.is(pp.v.pointer, IP6_NEXT_HEADER);
  t.is(pp.v.buf[pp.v.quoteOff + pp.v.pointer], 253, 'the pointer names the next header we sent');
  t.true(pp.v.verifyChecksum(pp.v.buf, pp.srcOff, pp.dstOff));

  const te = icmp6Of(KERNEL_ICMP6_TIME_EXCEEDED);
  t.is(te.v.type, Icmpv6Type.TimeExceeded);
  t.is(te.v.code, Icmpv6TimeExceededCode.HopLimit);
  t.is(te.v.buf[te.v.quoteOff + 7], 1, 'hop limit 1');
  t.true(te.v.verifyChecksum(te.v.buf, te.srcOff, te.dstOff));
});

test('setters write exactly their fields into a 0xa5-filled buffer', (t) => {
  const b = filled(11);
  const v = new Icmpv6View().reset(b, 1, 8);
  v.type = Icmpv6Type.EchoRequest;
  v.code = 0;
  t.is(toHex(b), 'a5' + '8000' + 'a5'.repeat(8));
  v.ident = 0x1234;
  v.seq = 0xfffe;
  t.is(toHex(b), 'a5' + '8000a5a51234fffe' + 'a5a5');
  v.mtu = 0xfedc_ba98;
  t.is(toHex(b, 5, 4), 'fedcba98');
  t.is(v.mtu, 0xfedc_ba98, 'a uint32, not negative');
  v.pointer = 40;
  t.is(toHex(b, 5, 4), '00000028');
  v.checksum = 0xbeef;
  t.is(toHex(b), 'a5' + '8000beef00000028' + 'a5a5');
});

test('fillChecksum uses the addresses it is given, wherever they are', (t) => {
  const addrs = fromHex('fe800000000000000000000000000001' + 'ff020000000000000000000000000001');
  const b = fromHex('8000 0000 0001 0002 6869');
  const v = new Icmpv6View().reset(b);
  v.fillChecksum(addrs, 0, 16);
  t.true(v.verifyChecksum(addrs, 0, 16));
  t.true(v.verifyChecksum(addrs, 16, 0), 'source and destination are summed alike: a swap verifies too');
  t.false(v.verifyChecksum(addrs, 0, 0));
});

const KERNEL_VECTORS = [
  ['echo reply', KERNEL_ICMP6_ECHO_REPLY],
  ['port unreachable', KERNEL_ICMP6_PORT_UNREACHABLE],
  ['packet too big', KERNEL_ICMP6_PACKET_TOO_BIG],
  ['parameter problem', KERNEL_ICMP6_PARAM_PROBLEM],
  ['time exceeded', KERNEL_ICMP6_TIME_EXCEEDED],
] as const;

for (const [name, hex] of KERNEL_VECTORS) {
  test(`emit reproduces the kernel's ${name} byte for byte, also at a nonzero offset`, (t) => {
    const { v, srcOff, dstOff } = icmp6Of(hex);
    const want = toHex(v.buf, v.off, v.len);
    const f = newIcmpv6Fields();
    t.is(parseIcmpv6(v, f), WireStatus.Ok);
    const data = v.buf.subarray(v.payloadOff, v.payloadOff + v.payloadLen);
    const out = filled(v.len);
    out.set(data, ICMPV6_HEADER_LEN);
    t.is(emitIcmpv6(f, out, 0, v.buf, srcOff, dstOff), icmpv6EmitLen(f));
    t.is(toHex(out), want);

    // The addresses may live anywhere: here in a buffer of their own.
    const addrs = v.buf.slice(srcOff, dstOff + 16);
    const big = filled(v.len + 19 + 5);
    big.set(data, 19 + ICMPV6_HEADER_LEN);
    t.is(emitIcmpv6(f, big, 19, addrs, 0, dstOff - srcOff), ICMPV6_HEADER_LEN);
    t.is(toHex(big, 19, v.len), want);
    t.is(toHex(big, 0, 19), toHex(filled(19)), 'nothing written before the offset');
    t.is(toHex(big, 19 + v.len), toHex(filled(5)), 'nothing written after the message');
  });
}

test('emit -> parse -> emit round trip clears the rest-of-header a type does not use', (t) => {
  const addrs = fromHex('fd980000000000000000000000000001' + 'fd980000000000000000000000000002');
  const f: Icmpv6Fields = {
    ...newIcmpv6Fields(),
    type: Icmpv6Type.DestUnreachable,
    code: Icmpv6UnreachCode.Address,
    payloadLen: ICMPV6_MIN_QUOTE_LEN,
  };
  const a = filled(ICMPV6_HEADER_LEN + f.payloadLen);
  t.is(emitIcmpv6(f, a, 0, addrs, 0, 16), ICMPV6_HEADER_LEN);
  t.is(toHex(a, 4, 4), '00000000');
  const v = new Icmpv6View().reset(a);
  t.true(v.verifyChecksum(addrs, 0, 16));
  const parsed = newIcmpv6Fields();
  t.is(parseIcmpv6(v, parsed), WireStatus.Ok);
  t.deepEqual(parsed, f);
});

test('icmpv6IsError: the high bit of the type is clear (RFC 4443 §2.1)', (t) => {
  t.true(icmpv6IsError(1));
  t.true(icmpv6IsError(127));
  t.false(icmpv6IsError(128));
  t.false(icmpv6IsError(Icmpv6Type.NeighborSolicitation));
});

const QUOTE40 = '60000000 0000 3a40' + 'fd98'.padEnd(32, '0') + 'fd98'.padEnd(32, '0');
const parses = test.macro({
  exec(t, hex: string, want: WireStatus) {
    t.is(parseIcmpv6(new Icmpv6View().reset(fromHex(hex)), newIcmpv6Fields()), want);
  },
  title: (what = '', _hex, want) => `parseIcmpv6 = ${want}: ${what}`,
});
test('an error quoting a bare IPv6 header', parses, '0104 0000 00000000' + QUOTE40, WireStatus.Ok);
test('an echo with no data', parses, '8100 0000 00000000', WireStatus.Ok);
test('shorter than the 8-byte header', parses, '8000 0000 000000', WireStatus.Truncated);
test('an error quoting less than an IPv6 header', parses, '0200 0000 00000500' + QUOTE40.slice(0, -2), WireStatus.Truncated);
test('Neighbor Solicitation (ndp.ts parses it)', parses, '8700 0000 00000000' + '00'.repeat(16), WireStatus.Unsupported);
test('an MLD query (not modelled)', parses, '8200 0000 00000000' + '00'.repeat(16), WireStatus.Unsupported);
test('an unassigned error type', parses, '0500 0000 00000000' + QUOTE40, WireStatus.Unsupported);
test('type 0 (reserved)', parses, '0000 0000 00000000' + QUOTE40, WireStatus.Unsupported);

test('decodeIcmpv6 throws a WireFormatError with a status and a message naming the reason', (t) => {
  const err = t.throws(() => decodeIcmpv6(fromHex('8000')), { instanceOf: WireFormatError });
  t.is(err?.status, WireStatus.Truncated);
  t.regex(err?.message ?? '', /icmpv6: truncated/);
  const { v } = icmp6Of(KERNEL_ICMP6_PACKET_TOO_BIG);
  t.is(decodeIcmpv6(v.buf, v.off).mtu, 1280);
});

const ADDRS = new Uint8Array(32);
test('property: random bytes never throw, and Ok means every accessor is in bounds', (t) => {
  const v = new Icmpv6View();
  const out = newIcmpv6Fields();
  const getters = getterNames(Icmpv6View.prototype);
  const types = [1, 2, 3, 4, 128, 129];
  // Mostly short random arrays, and some long enough to hold a whole header.
  const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 44, maxLength: 80 }));
  let okRuns = 0;
  const numRuns = 3000;
  fc.assert(
    fc.property(bytesArb, fc.nat(4), fc.nat(types.length), (raw, lead, pick) => {
      if (pick < types.length && raw.length > 0) raw[0] = types[pick]!;
      const bytes = new Uint8Array(lead + raw.length);
      bytes.set(raw, lead);
      const probe = new BoundsProbe(bytes).window(lead, bytes.length);
      v.reset(probe.buf, lead);
      const st = parseIcmpv6(v, out);
      if (st !== WireStatus.Ok) return true;
      okRuns++;
      readGetters(v, getters);
      v.verifyChecksum(ADDRS, 0, 16);
      const quoteOk = !icmpv6IsError(out.type) || v.quoteLen >= ICMPV6_MIN_QUOTE_LEN;
      return probe.bad === -1 && quoteOk && v.payloadOff + out.payloadLen === bytes.length;
    }),
    { numRuns },
  );
  t.true(okRuns > numRuns / 10, `only ${okRuns} of ${numRuns} runs reached Ok`);
});
