import test from 'ava';
import fc from 'fast-check';
import { NDP_INFINITE_LIFETIME, NdpOption, NdpOptionCursor } from '../../src/wire/ndp-options.js';
import {
  NDP_ABSENT,
  NDP_HOP_LIMIT,
  NDP_MAX_PREFIXES,
  NdpType,
  NdpView,
  decodeNdp,
  emitNdp,
  ipv6MulticastMac,
  ndpEmitLen,
  newNdpFields,
  parseNdp,
  solicitedNodeMulticast,
  type NdpFields,
} from '../../src/wire/ndp.js';
import { be16 } from '../../src/wire/bytes.js';
import { parseIPv6 } from '../../src/wire/addr.js';
import { WireStatus } from '../../src/wire/status.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { BoundsProbe, readGetters } from '../helpers/bounds.js';
import {
  KERNEL_NDP_NA,
  KERNEL_NDP_NA_ROUTER,
  KERNEL_NDP_NS,
  KERNEL_NDP_NS_DAD,
  KERNEL_NDP_REDIRECT,
  KERNEL_NDP_RS,
  RADVD_NDP_RA,
} from '../vectors/kernel-tap.js';

// Ethernet, then IPv6 (RFC 8200 §3) with no extension headers, then the ND message.
const ETH = 14;
const ETH_DST = 0;
const IP6 = ETH;
const IP6_PAYLOAD_LEN = IP6 + 4;
const IP6_HOP_LIMIT = IP6 + 7;
const IP6_SRC = IP6 + 8;
const IP6_DST = IP6 + 24;
const MSG = IP6 + 40;

const KERNEL_MAC = 0x026b_0000_0001;
const ip6 = (s: string): string => toHex(parseIPv6(s));

interface Captured {
  frame: Uint8Array;
  v: NdpView;
}

function ndpOf(hex: string): Captured {
  const frame = fromHex(hex);
  return { frame, v: new NdpView().reset(frame, MSG, be16(frame, IP6_PAYLOAD_LEN)) };
}

function parsed(c: Captured): NdpFields {
  const f = newNdpFields();
  const st = parseNdp(c.v, f);
  if (st !== WireStatus.Ok) throw new Error(`parseNdp: ${st}`);
  return f;
}

const ALL = [
  ['RS', KERNEL_NDP_RS],
  ['RA', RADVD_NDP_RA],
  ['NS', KERNEL_NDP_NS],
  ['DAD NS', KERNEL_NDP_NS_DAD],
  ['NA', KERNEL_NDP_NA],
  ['router NA', KERNEL_NDP_NA_ROUTER],
  ['Redirect', KERNEL_NDP_REDIRECT],
] as const;

test('every captured ND packet checks, verifies over its own header, and has Hop Limit 255', (t) => {
  for (const [name, hex] of ALL) {
    const { frame, v } = ndpOf(hex);
    t.is(v.check(), WireStatus.Ok, name);
    t.true(v.verifyChecksum(frame, IP6_SRC, IP6_DST), name);
    t.false(v.verifyChecksum(frame, IP6_SRC, IP6_SRC), `${name}: the pseudo-header is covered`);
    t.is(frame[IP6_HOP_LIMIT], NDP_HOP_LIMIT, name);
    t.is(v.code, 0, name);
  }
});

test('getters on a kernel-written Router Solicitation', (t) => {
  const c = ndpOf(KERNEL_NDP_RS);
  t.is(c.v.type, NdpType.RouterSolicitation);
  t.is(c.v.optionsOff, MSG + 8);
  t.is(c.v.optionsLen, 8);
  const f = parsed(c);
  t.is(f.srcMac, KERNEL_MAC);
  t.is(f.targetMac, NDP_ABSENT);
  t.is(toHex(f.target), '00'.repeat(16));
});

test('getters on radvd\'s Router Advertisement, and a cursor walk of its options', (t) => {
  const { v } = ndpOf(RADVD_NDP_RA);
  t.is(v.type, NdpType.RouterAdvertisement);
  t.is(v.curHopLimit, 64);
  t.is(v.raFlags, 0xc0);
  t.true(v.managed);
  t.true(v.other);
  t.is(v.routerLifetimeSec, 1800);
  t.is(v.reachableTimeMs, 30000);
  t.is(v.retransTimerMs, 1000);
  t.is(v.optionsOff, MSG + 16);

  const cur = v.options(new NdpOptionCursor());
  const seen: number[] = [];
  while (cur.next()) {
    seen.push(cur.type);
    if (cur.type === NdpOption.PrefixInfo) {
      t.is(cur.optLen, 32);
      t.is(cur.prefixLen, 64);
      t.true(cur.onLink);
      t.true(cur.autonomous);
      t.is(cur.validLifetimeSec, 86400);
      t.is(cur.preferredLifetimeSec, 14400);
      t.is(toHex(cur.buf, cur.prefixOff, 16), ip6('fd98::'));
    } else if (cur.type === NdpOption.Mtu) {
      t.is(cur.mtu, 1400);
    } else if (cur.type === NdpOption.SourceLinkAddr) {
      t.is(cur.linkAddr, KERNEL_MAC);
      t.is(cur.dataOff, cur.optOff + 2);
    }
  }
  t.is(cur.status, WireStatus.Ok);
  t.deepEqual(seen, [NdpOption.PrefixInfo, NdpOption.Mtu, NdpOption.SourceLinkAddr], 'radvd\'s order');

  const f = parsed({ frame: v.buf, v });
  t.is(f.prefixCount, 1);
  t.like(f.prefixes[0], {
    prefixLen: 64,
    onLink: true,
    autonomous: true,
    validLifetimeSec: 86400,
    preferredLifetimeSec: 14400,
  });
  t.is(toHex(f.prefixes[0]!.prefix), ip6('fd98::'));
  t.is(f.mtu, 1400);
  t.is(f.srcMac, KERNEL_MAC);
});

test('getters on kernel-written Neighbor Solicitations, and the multicast helpers agree with the kernel', (t) => {
  const ns = ndpOf(KERNEL_NDP_NS);
  t.is(ns.v.type, NdpType.NeighborSolicitation);
  t.is(toHex(ns.frame, ns.v.targetOff, 16), ip6('fd98::9'));
  t.is(parsed(ns).srcMac, KERNEL_MAC);
  const snm = new Uint8Array(16);
  solicitedNodeMulticast(ns.frame, ns.v.targetOff, snm, 0);
  t.is(toHex(snm), toHex(ns.frame, IP6_DST, 16), 'the kernel sent it to the solicited-node group');
  t.is(toHex(snm), ip6('ff02::1:ff00:9'));
  t.is(ipv6MulticastMac(ns.frame, IP6_DST), 0x3333_ff00_0009);
  t.is(ipv6MulticastMac(ns.frame, IP6_DST), parseInt(toHex(ns.frame, ETH_DST, 6), 16), 'and to that group\'s MAC');

  // Duplicate Address Detection (RFC 4862 §5.4.2): from ::, no SLLA, and a Nonce (RFC 7527).
  const dad = ndpOf(KERNEL_NDP_NS_DAD);
  t.is(toHex(dad.frame, IP6_SRC, 16), '00'.repeat(16));
  const f = parsed(dad);
  t.is(f.srcMac, NDP_ABSENT);
  t.is(toHex(f.target), ip6('fe80::6b:ff:fe00:1'));
  const cur = dad.v.options(new NdpOptionCursor());
  t.true(cur.next());
  t.is(cur.type, NdpOption.Nonce);
  t.is(toHex(cur.buf, cur.dataOff, cur.optLen - 2), '19a5d7773091');
  t.false(cur.next());
  solicitedNodeMulticast(f.target, 0, f.target, 0);
  t.is(toHex(f.target), toHex(dad.frame, IP6_DST, 16), 'in place, too');
});

test('getters on kernel-written Neighbor Advertisements: S and O, then R S O as a router', (t) => {
  const na = ndpOf(KERNEL_NDP_NA);
  t.is(na.v.type, NdpType.NeighborAdvertisement);
  t.false(na.v.router);
  t.true(na.v.solicited);
  t.true(na.v.override);
  t.is(toHex(na.frame, na.v.targetOff, 16), ip6('fd98::1'));
  t.like(parsed(na), { router: false, solicited: true, override: true, targetMac: KERNEL_MAC, srcMac: NDP_ABSENT });

  const rna = ndpOf(KERNEL_NDP_NA_ROUTER);
  t.true(rna.v.router);
  t.like(parsed(rna), { router: true, solicited: true, override: true, targetMac: KERNEL_MAC });
});

test('getters on a kernel-written Redirect, with its Redirected Header option', (t) => {
  const rd = ndpOf(KERNEL_NDP_REDIRECT);
  t.is(rd.v.type, NdpType.Redirect);
  t.is(toHex(rd.frame, IP6_SRC, 16), ip6('fe80::6b:ff:fe00:1'), 'from the router\'s link-local address');
  t.is(toHex(rd.frame, rd.v.targetOff, 16), ip6('fd98::3'));
  t.is(toHex(rd.frame, rd.v.destOff, 16), ip6('fd98::3'), 'target = destination: it is on-link');
  t.is(rd.v.optionsOff, MSG + 40);
  const f = parsed(rd);
  t.is(f.targetMac, 0x0270_0000_0003);
  t.is(toHex(f.dest), ip6('fd98::3'));
  const cur = rd.v.options(new NdpOptionCursor());
  while (cur.next() && cur.type !== NdpOption.RedirectedHeader);
  t.is(cur.type, NdpOption.RedirectedHeader);
  t.is(cur.optLen, 72);
  t.is(rd.frame[cur.redirectedOff]! >>> 4, 6, 'the quoted packet starts with its IPv6 header');
  t.is(cur.optOff + cur.optLen, rd.v.off + rd.v.len);
});

test('setters write exactly their fields (and flag bits) into a 0xa5-filled buffer', (t) => {
  const b = filled(20);
  const v = new NdpView().reset(b, 2, 16);
  v.type = NdpType.RouterAdvertisement;
  v.code = 0;
  t.is(toHex(b), 'a5a5' + '8600' + 'a5'.repeat(16));
  v.curHopLimit = 64;
  v.managed = false; // 0xa5 has M set: clear only it
  t.is(toHex(b, 6, 2), '4025');
  v.other = true;
  t.is(toHex(b, 6, 2), '4065');
  v.routerLifetimeSec = 0xfffe;
  v.reachableTimeMs = 0x0102_0304;
  v.retransTimerMs = 0xffff_fff0;
  v.checksum = 0xbeef;
  t.is(toHex(b), 'a5a5' + '8600beef' + '4065fffe' + '01020304' + 'fffffff0' + 'a5a5');
  t.is(v.retransTimerMs, 0xffff_fff0);
  v.raFlags = 0;
  t.false(v.managed || v.other);

  const n = filled(26);
  const na = new NdpView().reset(n, 1, 24);
  na.router = false;
  t.is(toHex(n, 5, 4), '25a5a5a5');
  na.solicited = true;
  na.override = false;
  t.is(toHex(n, 5, 4), '45a5a5a5');
  na.router = true;
  t.is(toHex(n), 'a5'.repeat(5) + 'c5a5a5a5' + 'a5'.repeat(17), 'nothing else written');
});

for (const [name, hex] of [
  ['RS', KERNEL_NDP_RS],
  ['RA', RADVD_NDP_RA],
  ['NS', KERNEL_NDP_NS],
  ['NA', KERNEL_NDP_NA],
  ['router NA', KERNEL_NDP_NA_ROUTER],
] as const) {
  test(`emit reproduces the captured ${name} byte for byte, checksum included`, (t) => {
    const c = ndpOf(hex);
    const f = parsed(c);
    const len = ndpEmitLen(f);
    t.is(len, c.v.len);
    const out = filled(len);
    t.is(emitNdp(f, out, 0, c.frame, IP6_SRC, IP6_DST), len);
    t.is(toHex(out), toHex(c.frame, MSG));
  });
}

test('the Redirect re-emits without its Redirected Header, otherwise the same', (t) => {
  const c = ndpOf(KERNEL_NDP_REDIRECT);
  const f = parsed(c);
  const len = ndpEmitLen(f);
  t.is(len, 40 + 8);
  const out = filled(len);
  t.is(emitNdp(f, out, 0, c.frame, IP6_SRC, IP6_DST), len);
  t.is(toHex(out, 0, 2) + toHex(out, 4), toHex(c.frame, MSG, 2) + toHex(c.frame, MSG + 4, len - 4));
  const v = new NdpView().reset(out);
  t.true(v.verifyChecksum(c.frame, IP6_SRC, IP6_DST));
  t.deepEqual(parsed({ frame: out, v }), f);
});

const ADDRS = fromHex(ip6('fe80::1') + ip6('ff02::1'));

function raFields(): NdpFields {
  const f = newNdpFields();
  f.type = NdpType.RouterAdvertisement;
  f.curHopLimit = 255;
  f.managed = false;
  f.other = true;
  f.routerLifetimeSec = 0xffff;
  f.reachableTimeMs = 0;
  f.retransTimerMs = 0xffff_ffff;
  f.srcMac = 0xfeff_ffff_fffe;
  f.mtu = 9000;
  f.prefixCount = 2;
  f.prefixes[0]!.prefix.set(parseIPv6('2001:db8:1::'));
  f.prefixes[1]!.prefixLen = 48;
  f.prefixes[1]!.onLink = false;
  f.prefixes[1]!.validLifetimeSec = 7200;
  f.prefixes[1]!.preferredLifetimeSec = 0;
  f.prefixes[1]!.prefix.set(parseIPv6('2001:db8:2::'));
  return f;
}

function otherFields(type: number, withMacs: boolean): NdpFields {
  const f = newNdpFields();
  f.type = type;
  if (type !== NdpType.RouterSolicitation) f.target.set(parseIPv6('fd00::1234:5678'));
  if (type === NdpType.Redirect) f.dest.set(parseIPv6('2001:db8::99'));
  if (type === NdpType.NeighborAdvertisement) {
    f.router = true;
    f.override = true;
  }
  if (withMacs) {
    if (type === NdpType.NeighborAdvertisement || type === NdpType.Redirect) f.targetMac = 0x0000_0000_0001;
    else f.srcMac = 0x5254_0012_3456;
  }
  return f;
}

const ROUND_TRIPS: [string, () => NdpFields][] = [
  ['RA with two prefixes, MTU and SLLA', raFields],
  ['RS', () => otherFields(NdpType.RouterSolicitation, true)],
  ['RS from :: (no SLLA)', () => otherFields(NdpType.RouterSolicitation, false)],
  ['NS', () => otherFields(NdpType.NeighborSolicitation, true)],
  ['DAD NS (no SLLA)', () => otherFields(NdpType.NeighborSolicitation, false)],
  ['NA', () => otherFields(NdpType.NeighborAdvertisement, true)],
  ['NA without TLLA', () => otherFields(NdpType.NeighborAdvertisement, false)],
  ['Redirect', () => otherFields(NdpType.Redirect, true)],
];

for (const [name, make] of ROUND_TRIPS) {
  test(`emit -> parse -> emit round trip: ${name}, also at a nonzero offset`, (t) => {
    const f = make();
    const len = ndpEmitLen(f);
    const a = filled(len);
    t.is(emitNdp(f, a, 0, ADDRS, 0, 16), len);
    const v = new NdpView().reset(a);
    t.is(v.check(), WireStatus.Ok);
    t.true(v.verifyChecksum(ADDRS, 0, 16));
    const back = newNdpFields();
    t.is(parseNdp(v, back), WireStatus.Ok);
    t.deepEqual(back, f);
    const big = filled(len + 31 + 7);
    t.is(emitNdp(back, big, 31, ADDRS, 0, 16), len);
    t.is(toHex(big, 31, len), toHex(a));
    t.is(toHex(big, 0, 31), toHex(filled(31)), 'nothing written before the offset');
    t.is(toHex(big, 31 + len), toHex(filled(7)), 'nothing written after the message');
  });
}

test('emitNdp writes nothing for a type that is not ND', (t) => {
  const f = newNdpFields();
  f.type = 128;
  t.is(ndpEmitLen(f), 0);
  const b = filled(40);
  t.is(emitNdp(f, b, 0, ADDRS, 0, 16), 0);
  t.is(toHex(b), toHex(filled(40)));
});

const NS_HEAD = '8700 0000 00000000' + ip6('fd98::9');
const SLLA = '0101 026b00000001';
const RA_HEAD = '8600 0000 40c00708 00007530 000003e8';
const checks = test.macro({
  exec(t, hex: string, want: WireStatus) {
    t.is(new NdpView().reset(fromHex(hex)).check(), want);
    t.is(parseNdp(new NdpView().reset(fromHex(hex)), newNdpFields()), want);
  },
  title: (what = '', _hex, want) => `check() = ${want}: ${what}`,
});
test('an NS with an SLLA', checks, NS_HEAD + SLLA, WireStatus.Ok);
test('an NS without options', checks, NS_HEAD, WireStatus.Ok);
test('an unknown option of any length is skipped', checks, NS_HEAD + 'c803' + '00'.repeat(22), WireStatus.Ok);
test('7 bytes', checks, '8500 0000 000000', WireStatus.Truncated);
test('an Echo Request is not ND', checks, '8000 0000 00000000', WireStatus.Unsupported);
test('an NS without all of its target', checks, NS_HEAD.slice(0, -2), WireStatus.Truncated);
test('an RA without all of its fixed part', checks, RA_HEAD.slice(0, -2), WireStatus.Truncated);
const REDIRECT_HEAD = '8900 0000 00000000' + ip6('fd98::3');
test('a Redirect without all of its destination', checks, REDIRECT_HEAD + ip6('fd98::3').slice(0, -2), WireStatus.Truncated);
test('code 1 (RFC 4861 §7.1.1: must be 0)', checks, '8701' + NS_HEAD.slice(4), WireStatus.BadValue);
test('a multicast NS target (§7.1.1)', checks, '8700 0000 00000000' + ip6('ff02::1'), WireStatus.BadValue);
test('a multicast NA target (§7.1.2)', checks, '8800 0000 60000000' + ip6('ff02::1'), WireStatus.BadValue);
test('a multicast Redirect destination (§8.1)', checks, REDIRECT_HEAD + ip6('ff02::1'), WireStatus.BadValue);
test('an option of length zero (§4.6)', checks, NS_HEAD + '0100 026b00000001', WireStatus.BadOption);
test('a zero-length option after a good one', checks, NS_HEAD + SLLA + '0e00 000000000000', WireStatus.BadOption);
test('an option running past the message', checks, NS_HEAD + '0e02 000000000000', WireStatus.BadOption);
test('one stray byte after the options', checks, NS_HEAD + SLLA + '01', WireStatus.BadOption);
test('an SLLA of two units (not Ethernet)', checks, NS_HEAD + '0102' + '00'.repeat(14), WireStatus.BadOption);
test('a Prefix Information option of 3 units', checks, RA_HEAD + '0303' + '00'.repeat(22), WireStatus.BadOption);
test('an MTU option of 2 units', checks, RA_HEAD + '0502' + '00'.repeat(14), WireStatus.BadOption);

test('parseNdp keeps the first of repeated SLLA and MTU options, as Linux does', (t) => {
  const f = newNdpFields();
  const hex = RA_HEAD + '0101 000000000001' + '0501 0000 00000500' + '0101 000000000002' + '0501 0000 00000600';
  t.is(parseNdp(new NdpView().reset(fromHex(hex)), f), WireStatus.Ok);
  t.is(f.srcMac, 1);
  t.is(f.mtu, 1280);
});

test('parseNdp takes NDP_MAX_PREFIXES prefixes and refuses one more with TooManyHeaders', (t) => {
  const pio = '0304 40c0 ffffffff ffffffff 00000000' + ip6('2001:db8::');
  const f = newNdpFields();
  t.is(parseNdp(new NdpView().reset(fromHex(RA_HEAD + pio.repeat(NDP_MAX_PREFIXES))), f), WireStatus.Ok);
  t.is(f.prefixCount, NDP_MAX_PREFIXES);
  t.is(f.prefixes[NDP_MAX_PREFIXES - 1]!.validLifetimeSec, NDP_INFINITE_LIFETIME);
  const v = new NdpView().reset(fromHex(RA_HEAD + pio.repeat(NDP_MAX_PREFIXES + 1)));
  t.is(v.check(), WireStatus.Ok, 'the packet itself is well formed');
  t.is(parseNdp(v, f), WireStatus.TooManyHeaders);
});

test('parse resets the fields a previous parse filled', (t) => {
  const f = parsed(ndpOf(RADVD_NDP_RA));
  t.is(parseNdp(ndpOf(KERNEL_NDP_NS_DAD).v, f), WireStatus.Ok);
  t.like(f, {
    type: NdpType.NeighborSolicitation,
    curHopLimit: 0,
    managed: false,
    mtu: NDP_ABSENT,
    srcMac: NDP_ABSENT,
    prefixCount: 0,
  });
  t.is(parseNdp(ndpOf(KERNEL_NDP_REDIRECT).v, f), WireStatus.Ok);
  t.is(parseNdp(ndpOf(KERNEL_NDP_RS).v, f), WireStatus.Ok);
  t.is(toHex(f.target) + toHex(f.dest), '00'.repeat(32));
});

test('ipv6MulticastMac: 33:33 and the low 32 bits (RFC 2464 §7)', (t) => {
  t.is(ipv6MulticastMac(parseIPv6('ff02::1'), 0), 0x3333_0000_0001);
  t.is(ipv6MulticastMac(parseIPv6('ff02::2'), 0), parseInt(toHex(fromHex(KERNEL_NDP_RS), ETH_DST, 6), 16));
  t.is(ipv6MulticastMac(parseIPv6('ff05::1:3'), 0), 0x3333_0001_0003);
  t.is(ipv6MulticastMac(parseIPv6('ff02::ffff:ffff'), 0), 0x3333_ffff_ffff);
});

test('decodeNdp throws a WireFormatError with a status and a message naming the reason', (t) => {
  const err = t.throws(() => decodeNdp(fromHex(NS_HEAD + '0100 026b00000001')), { instanceOf: WireFormatError });
  t.is(err?.status, WireStatus.BadOption);
  t.regex(err?.message ?? '', /ndp: bad-option/);
  const c = ndpOf(RADVD_NDP_RA);
  t.is(decodeNdp(c.frame, MSG).mtu, 1400);
});

const COMMON = ['type', 'code', 'checksum', 'optionsOff', 'optionsLen'];
const BY_TYPE: Record<number, string[]> = {
  [NdpType.RouterSolicitation]: COMMON,
  [NdpType.RouterAdvertisement]: [
    ...COMMON,
    'curHopLimit',
    'raFlags',
    'managed',
    'other',
    'routerLifetimeSec',
    'reachableTimeMs',
    'retransTimerMs',
  ],
  [NdpType.NeighborSolicitation]: COMMON,
  [NdpType.NeighborAdvertisement]: [...COMMON, 'router', 'solicited', 'override'],
  [NdpType.Redirect]: COMMON,
};
const BY_OPTION: Record<number, string[]> = {
  [NdpOption.SourceLinkAddr]: ['linkAddr'],
  [NdpOption.TargetLinkAddr]: ['linkAddr'],
  [NdpOption.PrefixInfo]: ['prefixLen', 'onLink', 'autonomous', 'validLifetimeSec', 'preferredLifetimeSec'],
  [NdpOption.Mtu]: ['mtu'],
};

test('property: random bytes never throw; Ok means accessors and options are in bounds and walks are linear', (t) => {
  const v = new NdpView();
  const out = newNdpFields();
  const cur = new NdpOptionCursor();
  const optionTypes = [1, 2, 3, 4, 5, 14, 0, 255];
  // Messages built mostly from plausible options, so that Ok is common: the fixed-size options
  // get their own length nine times in ten, any other length (zero included) the tenth.
  const option = fc
    .tuple(
      fc.constantFrom(...optionTypes),
      fc.integer({ min: 0, max: 4 }),
      fc.nat(9),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
    )
    .map(([type, units, dice, body]) => {
      const fixedUnits = type === NdpOption.PrefixInfo ? 4 : type === 1 || type === 2 || type === NdpOption.Mtu ? 1 : -1;
      const declared = fixedUnits > 0 && dice !== 0 ? fixedUnits : units;
      const o = new Uint8Array(Math.max(declared, 1) * 8);
      o.set(body.subarray(0, o.length));
      o[0] = type;
      o[1] = declared;
      return o;
    });
  const message = fc
    .tuple(
      fc.integer({ min: 133, max: 137 }),
      fc.uint8Array({ minLength: 40, maxLength: 40 }),
      fc.array(option, { maxLength: 6 }),
    )
    .map(([type, fixed, opts]) => {
      const head = fixed.subarray(0, { 133: 8, 134: 16, 135: 24, 136: 24, 137: 40 }[type]!);
      head[0] = type;
      head[1] = 0;
      // Keep Target and Destination unicast (a multicast one is BadValue, tested above).
      if (head.length > 8) head[8] = head[8]! & 0x7f;
      if (head.length > 24) head[24] = head[24]! & 0x7f;
      const all = new Uint8Array(head.length + opts.reduce((n, o) => n + o.length, 0));
      all.set(head);
      let p = head.length;
      for (const o of opts) {
        all.set(o, p);
        p += o.length;
      }
      return all;
    });
  let okRuns = 0;
  const numRuns = 4000;
  fc.assert(
    fc.property(fc.oneof(message, fc.uint8Array({ maxLength: 96 })), fc.nat(4), fc.nat(3), (raw, lead, trim) => {
      const body = raw.subarray(0, Math.max(0, raw.length - (trim === 3 ? 1 : 0)));
      const bytes = new Uint8Array(lead + body.length);
      bytes.set(body, lead);
      const probe = new BoundsProbe(bytes).window(lead, bytes.length);
      v.reset(probe.buf, lead);
      const st = parseNdp(v, out);
      if (st !== WireStatus.Ok && st !== WireStatus.TooManyHeaders) return true;
      okRuns++;
      readGetters(v, BY_TYPE[v.type]!);
      const end = bytes.length;
      const hasTarget = v.type !== NdpType.RouterSolicitation && v.type !== NdpType.RouterAdvertisement;
      if (hasTarget && v.targetOff + 16 > end) return false;
      if (v.type === NdpType.Redirect && v.destOff + 16 > end) return false;
      v.options(cur);
      let steps = 0;
      while (cur.next()) {
        steps++;
        readGetters(cur, BY_OPTION[cur.type] ?? []);
        if (cur.type === NdpOption.PrefixInfo && cur.prefixOff + 16 > cur.optOff + cur.optLen) return false;
        if (cur.optOff + cur.optLen > end) return false;
      }
      return probe.bad === -1 && cur.status === WireStatus.Ok && steps <= v.optionsLen / 8;
    }),
    { numRuns },
  );
  t.true(okRuns > numRuns / 10, `only ${okRuns} of ${numRuns} runs reached Ok`);
});

test('the option walk is linear: 8000 one-unit options take 8000 steps', (t) => {
  const n = 8000;
  const b = new Uint8Array(8 + n * 8);
  b[0] = NdpType.RouterSolicitation;
  for (let i = 0; i < n; i++) b.set([200, 1], 8 + i * 8);
  const v = new NdpView().reset(b);
  t.is(v.check(), WireStatus.Ok);
  const cur = v.options(new NdpOptionCursor());
  let steps = 0;
  while (cur.next()) steps++;
  t.is(steps, n);
  t.is(cur.status, WireStatus.Ok);
  // A bad option at the very end still costs one pass.
  b[b.length - 7] = 0;
  t.is(v.check(), WireStatus.BadOption);
});
