import test from 'ava';
import fc from 'fast-check';
import { Ipv6View, decodeIpv6, emitIpv6, ipv6EmitLen, newIpv6Fields, parseIpv6 } from '../../src/wire/ipv6.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { WireStatus } from '../../src/wire/status.js';
import { formatIPv6 } from '../../src/wire/addr.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { KERNEL_IPV6_TCP_SYN, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

const HDR = (payloadLen: number, next: number) =>
  `6000 0000 ${payloadLen.toString(16).padStart(4, '0')} ${next.toString(16).padStart(2, '0')}40 ` +
  'fd99 0000 0000 0000 0000 0000 0000 0001 fd99 0000 0000 0000 0000 0000 0000 0002';

test('getters on a kernel-written UDP packet', (t) => {
  const p = fromHex(KERNEL_IPV6_UDP);
  const v = new Ipv6View().reset(p);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.version, 6);
  t.is(v.trafficClass, 0);
  t.is(v.flowLabel, 0xb7796);
  t.is(v.payloadLen, 28);
  t.is(v.nextHeader, IpProto.UDP);
  t.is(v.hopLimit, 64);
  t.is(formatIPv6(p, v.srcOff), 'fd99::1');
  t.is(formatIPv6(p, v.dstOff), 'fd99::2');
  t.is(v.srcWord(0), 0xfd990000);
  t.is(v.dstWord(3), 2);
  t.is(v.upperProtocol, IpProto.UDP);
  t.is(v.upperOff, 40);
  t.is(v.upperLen, 28);
  t.false(v.isFragment);
  t.false(v.isMulticast);
});

test('the walk skips Hop-by-Hop, Destination Options, Routing and Fragment headers', (t) => {
  // HBH (8 bytes: next=60, len 0, PadN) -> DestOpts (16 bytes: next=43, len 1) -> Routing (8: next=44)
  // -> Fragment (next=17, offset 185*8, M set, id 0xdeadbeef) -> 8 bytes of UDP.
  const ext =
    '3c00 0104 0000 0000' +
    '2b01 0106 0000 0000 0000 0000 0000 0000' +
    '2c00 0000 0000 0000' +
    '1100 05c9 dead beef' +
    '0035 0035 0008 0000';
  const p = fromHex(HDR(48, 0) + ext);
  const v = new Ipv6View().reset(p);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.upperProtocol, IpProto.UDP);
  t.is(v.upperOff, 40 + 40);
  t.is(v.upperLen, 8);
  t.true(v.isFragment);
  t.is(v.fragOffset, 185 * 8);
  t.true(v.moreFrags);
  t.is(v.fragIdent, 0xdeadbeef);
});

test('AH length is counted in 4-octet units (RFC 4302 §2.2)', (t) => {
  // AH with payload len 4 => (4 + 2) * 4 = 24 bytes; next header TCP.
  const ah = '0604 0000 0000 0100 0000 0001' + '0000 0000 0000 0000 0000 0000';
  const p = fromHex(HDR(24 + 20, IpProto.AH) + ah + '0'.repeat(40));
  const v = new Ipv6View().reset(p);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.upperProtocol, IpProto.TCP);
  t.is(v.upperOff, 64);
});

test('ESP and No Next Header end the walk', (t) => {
  const esp = new Ipv6View().reset(fromHex(HDR(8, IpProto.ESP) + '0000 0001 0000 0001'));
  t.is(esp.check(), WireStatus.Ok);
  t.is(esp.upperProtocol, IpProto.ESP);
  const none = new Ipv6View().reset(fromHex(HDR(0, IpProto.IPv6NoNext)));
  t.is(none.check(), WireStatus.Ok);
  t.is(none.upperLen, 0);
});

const rejects = test.macro({
  exec(t, hex: string, want: WireStatus) {
    t.is(new Ipv6View().reset(fromHex(hex)).check(), want);
  },
  title: (what = '', _h, want) => `check() = ${want}: ${what}`,
});
test('39 bytes', rejects, HDR(0, 59).slice(0, -2), WireStatus.Truncated);
test('version 4', rejects, '4' + HDR(0, 59).slice(1), WireStatus.BadVersion);
test('payload length past the buffer', rejects, HDR(1, 59), WireStatus.Truncated);
test('extension header past the payload', rejects, HDR(8, 60) + '1101 0000 0000 0000', WireStatus.Truncated);
test('Hop-by-Hop not first', rejects, HDR(16, 60) + '0000 0000 0000 0000' + '1100 0000 0000 0000', WireStatus.BadOption);
test('more than 8 extension headers', rejects, HDR(72, 60) + '3c00 0000 0000 0000'.repeat(9), WireStatus.TooManyHeaders);

test('setters write only their fields; emit -> parse -> emit round trip at an offset', (t) => {
  const b = filled(44);
  const v = new Ipv6View().reset(b, 2, 40);
  v.trafficClass = 0xb8;
  v.flowLabel = 0x12345;
  v.hopLimit = 1;
  // The version nibble (a) and payload length/next header (a5a5 a5) keep the fill.
  t.is(toHex(b, 0, 12), 'a5a5' + 'ab812345' + 'a5a5a5' + '01' + 'a5a5');
  const f = newIpv6Fields();
  f.src.set(fromHex('2001 0db8 0000 0000 0000 0000 0000 0001'));
  f.dst.set(fromHex('ff02 0000 0000 0000 0000 0001 ff00 0002'));
  f.nextHeader = IpProto.ICMPv6;
  f.hopLimit = 255;
  f.payloadLen = 24;
  f.trafficClass = 0xe0;
  f.flowLabel = 0xfffff;
  const a = filled(40);
  t.is(emitIpv6(f, a, 0), ipv6EmitLen(f));
  const back = newIpv6Fields();
  t.is(parseIpv6(new Ipv6View().reset(fromHex(toHex(a) + '00'.repeat(24))), back), WireStatus.Ok);
  t.deepEqual(back, f);
  const big = filled(60);
  emitIpv6(back, big, 9);
  t.is(toHex(big, 9, 40), toHex(a));
  t.is(toHex(big, 0, 9) + toHex(big, 49), toHex(filled(20)));
  t.true(new Ipv6View().reset(a, 0, 40).isMulticast, 'ff02::1:ff00:2 is multicast');
});

test('decodeIpv6 on a kernel SYN, and its error path', (t) => {
  const f = decodeIpv6(fromHex(KERNEL_IPV6_TCP_SYN));
  t.is(f.nextHeader, IpProto.TCP);
  t.is(f.payloadLen, 40);
  t.throws(() => decodeIpv6(fromHex('60')), { instanceOf: WireFormatError, message: /ipv6: truncated/ });
});

test('property: random bytes never throw; Ok means the upper layer is inside the payload', (t) => {
  const v = new Ipv6View();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (b, force) => {
      if (force && b.length > 6) {
        b[0] = 0x60;
        b[4] = 0;
        b[5] = Math.max(0, b.length - 40);
        b[6] = [0, 43, 44, 60, 51, 6][b[6]! % 6]!;
      }
      const st = v.reset(b).check();
      if (st !== WireStatus.Ok) return true;
      return v.upperOff >= 40 && v.upperOff + v.upperLen <= b.length && v.upperLen >= 0;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});
