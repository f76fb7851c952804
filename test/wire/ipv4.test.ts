import test from 'ava';
import fc from 'fast-check';
import { Ipv4View, decodeIpv4, emitIpv4, ipv4EmitLen, newIpv4Fields, parseIpv4, type Ipv4Fields } from '../../src/wire/ipv4.js';
import { WireStatus } from '../../src/wire/status.js';
import { checksum } from '../../src/wire/checksum.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { countScavenges } from '../helpers/alloc.js';
import { KERNEL_IPV4_TCP_SYN, KERNEL_IPV4_UDP } from '../vectors/kernel-tun.js';

test('getters on a kernel-written UDP packet', (t) => {
  const p = fromHex(KERNEL_IPV4_UDP);
  const v = new Ipv4View().reset(p);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.version, 4);
  t.is(v.headerLen, 20);
  t.is(v.totalLen, 48);
  t.is(v.ident, 0x366b);
  t.true(v.dontFrag);
  t.false(v.moreFrags);
  t.is(v.fragOffset, 0);
  t.false(v.isFragment);
  t.is(v.ttl, 64);
  t.is(v.protocol, 17);
  t.is(v.checksum, 0xef89);
  t.true(v.verifyChecksum());
  t.is(v.src, 0x0a630001);
  t.is(v.dst, 0x0a630002);
  t.is(v.payloadOff, 20);
  t.is(v.payloadLen, 28);
  t.is(v.optionsLen, 0);
});

test('setters write exactly their fields into a 0xa5-filled buffer', (t) => {
  const b = filled(24);
  const v = new Ipv4View().reset(b, 2, 20);
  v.headerLen = 20;
  v.dscp = 46;
  v.ecn = 1;
  v.totalLen = 20;
  v.ident = 0x1234;
  v.fragOffset = 0;
  v.dontFrag = true;
  v.moreFrags = false;
  v.ttl = 17;
  v.protocol = 6;
  v.src = 0xc0000201;
  v.dst = 0xc6336402;
  v.fillChecksum();
  // Each setter owns only its bits: the reserved flag bit (0x8000) keeps the 0xa5 fill, which is
  // why emitIpv4, not a run of setters, is how a header is built.
  t.is(toHex(b), 'a5a5' + '45b9' + '0014' + '1234' + 'c000' + '1106' + toHex(b, 12, 2) + 'c0000201c6336402' + 'a5a5');
  t.is(checksum(b, 2, 20), 0);
});

test('fragment fields', (t) => {
  const b = new Uint8Array(20);
  const v = new Ipv4View().reset(b);
  v.moreFrags = true;
  v.fragOffset = 1480;
  t.true(v.isFragment);
  t.is(v.fragOffset, 1480);
  t.is(toHex(b, 6, 2), '20b9');
  v.moreFrags = false;
  t.true(v.isFragment, 'a last fragment has an offset');
  v.fragOffset = 0;
  t.false(v.isFragment);
});

test('emit -> parse -> emit round trip, also at a nonzero offset in a larger buffer', (t) => {
  const f: Ipv4Fields = {
    ...newIpv4Fields(),
    src: 0x0a000001,
    dst: 0xffffffff,
    protocol: 17,
    ttl: 1,
    payloadLen: 8,
    ident: 0xbeef,
    dontFrag: false,
    options: fromHex('94040000'), // Router Alert (RFC 2113)
  };
  const len = ipv4EmitLen(f);
  t.is(len, 24);
  const a = filled(len + 8);
  t.is(emitIpv4(f, a, 0), len);
  const parsed = newIpv4Fields();
  t.is(parseIpv4(new Ipv4View().reset(a, 0, len + 8), parsed, true), WireStatus.Ok);
  t.deepEqual(parsed, f);
  const big = filled(len + 8 + 37);
  t.is(emitIpv4(parsed, big, 37), len);
  t.is(toHex(big, 37, len), toHex(a, 0, len));
  t.is(toHex(big, 0, 37), toHex(filled(37)), 'nothing written before the offset');
});

test('options are padded to a multiple of 4 and walked on parse', (t) => {
  const f = { ...newIpv4Fields(), options: fromHex('0101'), payloadLen: 0 };
  const b = new Uint8Array(ipv4EmitLen(f));
  emitIpv4(f, b, 0);
  t.is(toHex(b, 20), '01010000');
  const bad = fromHex('4600 0018 0000 0000 4011 0000 0a00 0001 0a00 0002 8905 0000');
  t.is(parseIpv4(new Ipv4View().reset(bad), newIpv4Fields()), WireStatus.BadOption);
});

const rejects = test.macro({
  exec(t, hex: string, want: WireStatus) {
    t.is(new Ipv4View().reset(fromHex(hex)).check(), want);
  },
  title: (what = '', _hex, want) => `check() = ${want}: ${what}`,
});
test('shorter than 20 bytes', rejects, '4500 0014 0000 0000 4011 0000 0a00 0001 0a00 00', WireStatus.Truncated);
test('version 6 in an IPv4 view', rejects, '6500 0014 0000 0000 4011 0000 0a00 0001 0a00 0002', WireStatus.BadVersion);
test('IHL below 5', rejects, '4400 0014 0000 0000 4011 0000 0a00 0001 0a00 0002', WireStatus.BadHeaderLen);
test('total length past the buffer', rejects, '4500 0015 0000 0000 4011 0000 0a00 0001 0a00 0002', WireStatus.Truncated);
test('total length below the header', rejects, '4500 0010 0000 0000 4011 0000 0a00 0001 0a00 0002', WireStatus.BadLength);
test('IHL past the buffer', rejects, '4f00 0014 0000 0000 4011 0000 0a00 0001 0a00 0002', WireStatus.Truncated);

test('Ethernet padding after Total Length is not payload', (t) => {
  const p = fromHex(KERNEL_IPV4_TCP_SYN + '0000000000');
  const v = new Ipv4View().reset(p);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.payloadLen, 40);
});

test('rewriteSrc / rewriteDst / decrementTtl keep the checksum valid', (t) => {
  const p = fromHex(KERNEL_IPV4_UDP);
  const v = new Ipv4View().reset(p);
  v.rewriteSrc(0xc0a80a0a);
  v.rewriteDst(0x08080808);
  t.is(v.decrementTtl(), 63);
  t.true(v.verifyChecksum());
});

test('decodeIpv4 throws a WireFormatError with a status and a message naming the reason', (t) => {
  const err = t.throws(() => decodeIpv4(fromHex('45')), { instanceOf: WireFormatError });
  t.is(err?.code, 'ERR_PKT_WIRE_FORMAT');
  t.is(err?.status, WireStatus.Truncated);
  t.regex(err?.message ?? '', /ipv4: truncated/);
  t.is(decodeIpv4(fromHex(KERNEL_IPV4_UDP)).dst, 0x0a630002);
});

test('property: random bytes never throw, and Ok means every accessor is in bounds', (t) => {
  const v = new Ipv4View();
  const out = newIpv4Fields();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (bytes, forceV4) => {
      if (forceV4 && bytes.length > 0) bytes[0] = 0x40 | (bytes[0]! & 0x0f);
      v.reset(bytes);
      const st = parseIpv4(v, out);
      if (st !== WireStatus.Ok) return true;
      return v.payloadOff + v.payloadLen <= bytes.length && v.headerLen >= 20 && out.options.length === v.optionsLen;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('parse and emit allocate nothing with addresses above 2^31 (2M packets)', (t) => {
  const ipv4 = new URL('../../src/wire/ipv4.js', import.meta.url).href;
  // 192.168.0.0/16 addresses are above 2^31: a uint32 that leaves un-inlined code is boxed.
  const body = `
    import { Ipv4View, parseIpv4, emitIpv4, newIpv4Fields } from ${JSON.stringify(ipv4)};
    const pkt = new Uint8Array(60);
    const f0 = newIpv4Fields();
    f0.src = 0xc0a80101; f0.dst = 0xac100001; f0.protocol = 6; f0.payloadLen = 40;
    emitIpv4(f0, pkt, 0);
    const v = new Ipv4View().reset(pkt);
    const f = newIpv4Fields();
    const out = new Uint8Array(60);
    function batch(n) {
      let s = 0;
      for (let i = 0; i < n; i++) s += parseIpv4(v, f) + emitIpv4(f, out, 0);
      return s;
    }
    let total = 0;
    for (let k = 0; k < 2000; k++) total += batch(1000);
    if (total !== 2000 * 1000 * 20) throw new Error('unexpected ' + total);
  `;
  const scavenges = countScavenges(body);
  t.log(`${scavenges} scavenges`);
  t.true(scavenges <= 3, `${scavenges} scavenges: the parse/emit loop allocates`);
});
