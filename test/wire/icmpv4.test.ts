import test from 'ava';
import fc from 'fast-check';
import {
  ICMPV4_HEADER_LEN,
  ICMPV4_MIN_QUOTE_LEN,
  Icmpv4ParamProblemCode,
  Icmpv4RedirectCode,
  Icmpv4TimeExceededCode,
  Icmpv4Type,
  Icmpv4UnreachCode,
  Icmpv4View,
  decodeIcmpv4,
  emitIcmpv4,
  icmpv4EmitLen,
  icmpv4QuotesDatagram,
  newIcmpv4Fields,
  parseIcmpv4,
  type Icmpv4Fields,
} from '../../src/wire/icmpv4.js';
import { Ipv4View } from '../../src/wire/ipv4.js';
import { be16 } from '../../src/wire/bytes.js';
import { checksum } from '../../src/wire/checksum.js';
import { WireStatus } from '../../src/wire/status.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { BoundsProbe, getterNames, readGetters } from '../helpers/bounds.js';
import { KERNEL_IPV4_ICMP_ECHO } from '../vectors/kernel-tun.js';
import {
  KERNEL_ICMP4_ECHO_REPLY,
  KERNEL_ICMP4_FRAG_NEEDED,
  KERNEL_ICMP4_PARAM_PROBLEM,
  KERNEL_ICMP4_PORT_UNREACHABLE,
  KERNEL_ICMP4_REDIRECT,
  KERNEL_ICMP4_TIME_EXCEEDED,
} from '../vectors/kernel-tap.js';

const ETH = 14;
const PEER = 0x0a62_0002;
const KERNEL = 0x0a62_0001;

/** The ICMP message of a captured packet, found through its IPv4 header (so padding is excluded). */
function icmpOf(hex: string, ipOff = ETH): Icmpv4View {
  const p = fromHex(hex);
  const ip = new Ipv4View().reset(p, ipOff);
  if (ip.check() !== WireStatus.Ok || ip.protocol !== 1) throw new Error('vector is not ICMP over IPv4');
  return new Icmpv4View().reset(p, ip.payloadOff, ip.payloadLen);
}

/** A view over the quoted datagram, from its IPv4 header to the end of the quote. */
function quoted(v: Icmpv4View): Ipv4View {
  return new Ipv4View().reset(v.buf, v.quoteOff, v.quoteLen);
}

test('getters on a kernel-written echo reply and the kernel ping socket\'s echo request', (t) => {
  const v = icmpOf(KERNEL_ICMP4_ECHO_REPLY);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.type, Icmpv4Type.EchoReply);
  t.is(v.code, 0);
  t.is(v.checksum, 0xdf09);
  t.true(v.verifyChecksum());
  t.is(v.ident, 0x7070);
  t.is(v.seq, 1);
  t.false(v.quotesDatagram);
  t.is(new TextDecoder().decode(v.buf.subarray(v.payloadOff, v.payloadOff + v.payloadLen)), 'pktkit golden');

  const req = icmpOf(KERNEL_IPV4_ICMP_ECHO, 0);
  t.is(req.type, Icmpv4Type.Echo);
  t.is(req.ident, 0xacd2);
  t.is(req.seq, 1);
  t.true(req.verifyChecksum());
});

test('getters on a kernel-written port unreachable: the quoted datagram is ours', (t) => {
  const v = icmpOf(KERNEL_ICMP4_PORT_UNREACHABLE);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.type, Icmpv4Type.DestUnreachable);
  t.is(v.code, Icmpv4UnreachCode.Port);
  t.true(v.verifyChecksum());
  t.true(v.quotesDatagram);
  t.is(v.nextHopMtu, 0);
  t.is(v.quoteOff, ETH + 20 + ICMPV4_HEADER_LEN);
  t.is(v.quoteLen, 48, 'the whole datagram: well under 576 bytes');
  const q = quoted(v);
  t.is(q.check(), WireStatus.Ok);
  t.is(q.src, PEER);
  t.is(q.dst, KERNEL);
  t.is(q.protocol, 17);
  t.is(be16(v.buf, q.payloadOff + 2), 9, 'UDP destination port');
});

test('getters on a kernel-written Fragmentation Needed: next-hop MTU (RFC 1191)', (t) => {
  const v = icmpOf(KERNEL_ICMP4_FRAG_NEEDED);
  t.is(v.type, Icmpv4Type.DestUnreachable);
  t.is(v.code, Icmpv4UnreachCode.FragNeeded);
  t.is(v.nextHopMtu, 100);
  t.true(v.verifyChecksum());
  const q = quoted(v);
  t.is(q.check(), WireStatus.Ok);
  t.true(q.dontFrag);
  t.is(q.totalLen, 128);
  t.is(q.dst, 0x0a61_0005);
});

test('getters on a kernel-written Parameter Problem: the pointer names the bad byte', (t) => {
  const v = icmpOf(KERNEL_ICMP4_PARAM_PROBLEM);
  t.is(v.type, Icmpv4Type.ParamProblem);
  t.is(v.code, Icmpv4ParamProblemCode.Pointer);
  t.is(v.pointer, 21);
  t.true(v.verifyChecksum());
  const q = quoted(v);
  t.is(q.headerLen, 24);
  t.is(v.buf[v.quoteOff + v.pointer - 1], 7, 'Record Route');
  t.is(v.buf[v.quoteOff + v.pointer], 2, 'its length 2: below the minimum of 3');
});

test('getters on a kernel-written Time Exceeded and Redirect', (t) => {
  const te = icmpOf(KERNEL_ICMP4_TIME_EXCEEDED);
  t.is(te.type, Icmpv4Type.TimeExceeded);
  t.is(te.code, Icmpv4TimeExceededCode.TtlExceeded);
  t.true(te.verifyChecksum());
  t.is(quoted(te).ttl, 1);

  const rd = icmpOf(KERNEL_ICMP4_REDIRECT);
  t.is(rd.type, Icmpv4Type.Redirect);
  t.is(rd.code, Icmpv4RedirectCode.Host);
  t.is(rd.gateway, 0x0a62_0003);
  t.true(rd.verifyChecksum());
  t.true(rd.quotesDatagram);
  t.is(quoted(rd).dst, 0x0a62_0003);
});

test('setters write exactly their fields into a 0xa5-filled buffer', (t) => {
  const b = filled(11);
  const v = new Icmpv4View().reset(b, 1, 8);
  v.type = Icmpv4Type.Echo;
  v.code = 0;
  t.is(toHex(b), 'a5' + '0800' + 'a5'.repeat(8));
  v.ident = 0x1234;
  v.seq = 0xfffe;
  t.is(toHex(b), 'a5' + '0800a5a51234fffe' + 'a5a5');
  v.pointer = 0x20;
  t.is(toHex(b, 5, 4), '2034fffe', 'pointer is one byte');
  v.nextHopMtu = 1500;
  t.is(toHex(b, 5, 4), '203405dc', 'next-hop MTU is the low 16 bits');
  v.gateway = 0xc0a8_0101;
  t.is(toHex(b, 5, 4), 'c0a80101');
  v.checksum = 0xbeef;
  t.is(toHex(b), 'a5' + '0800beefc0a80101' + 'a5a5');
  v.fillChecksum();
  t.is(checksum(b, 1, 8), 0);
  t.true(v.verifyChecksum());
});

const KERNEL_VECTORS = [
  ['echo reply', KERNEL_ICMP4_ECHO_REPLY],
  ['port unreachable', KERNEL_ICMP4_PORT_UNREACHABLE],
  ['fragmentation needed', KERNEL_ICMP4_FRAG_NEEDED],
  ['parameter problem', KERNEL_ICMP4_PARAM_PROBLEM],
  ['time exceeded', KERNEL_ICMP4_TIME_EXCEEDED],
  ['redirect', KERNEL_ICMP4_REDIRECT],
] as const;

for (const [name, hex] of KERNEL_VECTORS) {
  test(`emit reproduces the kernel's ${name} byte for byte, also at a nonzero offset`, (t) => {
    const v = icmpOf(hex);
    const want = toHex(v.buf, v.off, v.len);
    const f = newIcmpv4Fields();
    t.is(parseIcmpv4(v, f, true), WireStatus.Ok);
    t.is(f.payloadLen, v.len - ICMPV4_HEADER_LEN);
    // The data goes in first (the checksum covers it), then the header.
    const out = filled(v.len);
    out.set(v.buf.subarray(v.payloadOff, v.payloadOff + v.payloadLen), ICMPV4_HEADER_LEN);
    t.is(emitIcmpv4(f, out, 0), icmpv4EmitLen(f));
    t.is(toHex(out), want);

    const big = filled(v.len + 23 + 9);
    big.set(v.buf.subarray(v.payloadOff, v.payloadOff + v.payloadLen), 23 + ICMPV4_HEADER_LEN);
    t.is(emitIcmpv4(f, big, 23), ICMPV4_HEADER_LEN);
    t.is(toHex(big, 23, v.len), want);
    t.is(toHex(big, 0, 23), toHex(filled(23)), 'nothing written before the offset');
    t.is(toHex(big, 23 + v.len), toHex(filled(9)), 'nothing written after the message');
  });
}

test('emit -> parse -> emit round trip clears the rest-of-header bits a type does not use', (t) => {
  const f: Icmpv4Fields = { ...newIcmpv4Fields(), type: Icmpv4Type.TimeExceeded, code: 1, payloadLen: ICMPV4_MIN_QUOTE_LEN };
  const a = filled(ICMPV4_HEADER_LEN + f.payloadLen);
  t.is(emitIcmpv4(f, a, 0), ICMPV4_HEADER_LEN);
  t.is(toHex(a, 0, 2), '0b01');
  t.is(toHex(a, 4, 4), '00000000');
  const parsed = newIcmpv4Fields();
  t.is(parseIcmpv4(new Icmpv4View().reset(a), parsed, true), WireStatus.Ok);
  t.deepEqual(parsed, f);
  const b = filled(a.length);
  b.set(a.subarray(ICMPV4_HEADER_LEN), ICMPV4_HEADER_LEN);
  emitIcmpv4(parsed, b, 0);
  t.is(toHex(b), toHex(a));

  const pp: Icmpv4Fields = {
    ...newIcmpv4Fields(),
    type: Icmpv4Type.ParamProblem,
    pointer: 9,
    payloadLen: ICMPV4_MIN_QUOTE_LEN,
  };
  const c = filled(ICMPV4_HEADER_LEN + pp.payloadLen);
  emitIcmpv4(pp, c, 0);
  t.is(toHex(c, 4, 4), '09000000', 'the 24 unused bits are zero');
});

test('icmpv4QuotesDatagram: errors and Redirect', (t) => {
  const quoting = [3, 5, 11, 12];
  for (let type = 0; type < 256; type++) t.is(icmpv4QuotesDatagram(type), quoting.includes(type), `type ${type}`);
});

const QUOTE28 = '45000030 00000000 4011 0000 0a620002 0a620001 9c540009 001c0000';
const parses = test.macro({
  exec(t, hex: string, want: WireStatus, verify?: boolean) {
    t.is(parseIcmpv4(new Icmpv4View().reset(fromHex(hex)), newIcmpv4Fields(), verify ?? false), want);
  },
  title: (what = '', _hex, want) => `parseIcmpv4 = ${want}: ${what}`,
});
test('an error quoting the RFC 792 minimum (header + 64 bits)', parses, '0303 fcfc 00000000' + QUOTE28, WireStatus.Ok);
test('an echo with no data', parses, '0800 f7ff 00000000', WireStatus.Ok);
test('shorter than the 8-byte header', parses, '0800 f7ff 000000', WireStatus.Truncated);
test('an error quoting 27 bytes', parses, '0303 0000 00000000' + QUOTE28.slice(0, -2), WireStatus.Truncated);
test('a Redirect quoting nothing', parses, '0501 0000 0a620003', WireStatus.Truncated);
test('Timestamp (not modelled)', parses, '0d00 0000 00000000 00000000 00000000 00000000', WireStatus.Unsupported);
test('Source Quench (deprecated, RFC 6633)', parses, '0400 0000 00000000' + QUOTE28, WireStatus.Unsupported);
test('a wrong checksum, when asked to verify', parses, '0800 f7fe 00000000', WireStatus.BadChecksum, true);
test('a wrong checksum, when not asked', parses, '0800 f7fe 00000000', WireStatus.Ok, false);

test('decodeIcmpv4 throws a WireFormatError with a status and a message naming the reason', (t) => {
  const err = t.throws(() => decodeIcmpv4(fromHex('0d00 0000 00000000')), { instanceOf: WireFormatError });
  t.is(err?.status, WireStatus.Unsupported);
  t.regex(err?.message ?? '', /icmpv4: unsupported/);
  const v = icmpOf(KERNEL_ICMP4_FRAG_NEEDED);
  t.is(decodeIcmpv4(v.buf.slice(0, v.off + v.len), v.off).nextHopMtu, 100);
});

test('property: random bytes never throw, and Ok means every accessor is in bounds', (t) => {
  const v = new Icmpv4View();
  const out = newIcmpv4Fields();
  const getters = getterNames(Icmpv4View.prototype);
  const types = [0, 3, 5, 8, 11, 12];
  // Mostly short random arrays, and some long enough to hold a whole header.
  const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 30, maxLength: 64 }));
  let okRuns = 0;
  const numRuns = 3000;
  fc.assert(
    fc.property(bytesArb, fc.nat(4), fc.nat(types.length), (raw, lead, pick) => {
      if (pick < types.length && raw.length > 0) raw[0] = types[pick]!;
      const bytes = new Uint8Array(lead + raw.length);
      bytes.set(raw, lead);
      const probe = new BoundsProbe(bytes).window(lead, bytes.length);
      v.reset(probe.buf, lead);
      const st = parseIcmpv4(v, out, pick % 2 === 0);
      if (st !== WireStatus.Ok) return true;
      okRuns++;
      readGetters(v, getters);
      const quoteOk = !icmpv4QuotesDatagram(out.type) || v.quoteLen >= ICMPV4_MIN_QUOTE_LEN;
      return probe.bad === -1 && quoteOk && v.payloadOff + out.payloadLen === bytes.length;
    }),
    { numRuns },
  );
  t.true(okRuns > numRuns / 10, `only ${okRuns} of ${numRuns} runs reached Ok`);
});
