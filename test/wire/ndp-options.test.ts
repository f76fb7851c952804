import test from 'ava';
import fc from 'fast-check';
import {
  NDP_LLA_OPT_LEN,
  NDP_MTU_OPT_LEN,
  NDP_PREFIX_OPT_LEN,
  NdpOption,
  NdpOptionCursor,
  emitNdpLinkAddrOption,
  emitNdpMtuOption,
  emitNdpPrefixOption,
  newNdpPrefixInfo,
} from '../../src/wire/ndp-options.js';
import { parseIPv6 } from '../../src/wire/addr.js';
import { WireStatus } from '../../src/wire/status.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { BoundsProbe } from '../helpers/bounds.js';
import { RADVD_NDP_RA } from '../vectors/kernel-tap.js';

// The option area of radvd's RA: after Ethernet (14), IPv6 (40) and the RA's fixed part (16).
const RA_OPTIONS = 14 + 40 + 16;

test('the option writers reproduce radvd\'s options byte for byte', (t) => {
  const frame = fromHex(RADVD_NDP_RA);
  const pi = newNdpPrefixInfo();
  pi.prefix.set(parseIPv6('fd98::'));
  pi.validLifetimeSec = 86400;
  pi.preferredLifetimeSec = 14400;
  const out = filled(NDP_PREFIX_OPT_LEN + NDP_MTU_OPT_LEN + NDP_LLA_OPT_LEN);
  let p = 0;
  p += emitNdpPrefixOption(out, p, pi);
  p += emitNdpMtuOption(out, p, 1400);
  p += emitNdpLinkAddrOption(out, p, NdpOption.SourceLinkAddr, 0x026b_0000_0001);
  t.is(p, out.length);
  t.is(toHex(out), toHex(frame, RA_OPTIONS));
});

test('each writer writes exactly its option at a nonzero offset in a 0xa5-filled buffer', (t) => {
  const b = filled(3 + NDP_LLA_OPT_LEN + 2);
  t.is(emitNdpLinkAddrOption(b, 3, NdpOption.TargetLinkAddr, 0xffee_ddcc_bbaa), NDP_LLA_OPT_LEN);
  t.is(toHex(b), 'a5a5a5' + '0201ffeeddccbbaa' + 'a5a5');
  const m = filled(1 + NDP_MTU_OPT_LEN + 1);
  t.is(emitNdpMtuOption(m, 1, 0xffff_fffe), NDP_MTU_OPT_LEN);
  t.is(toHex(m), 'a5' + '05010000fffffffe' + 'a5');
  const pi = newNdpPrefixInfo();
  pi.onLink = false;
  pi.prefixLen = 0;
  const q = filled(2 + NDP_PREFIX_OPT_LEN + 2);
  t.is(emitNdpPrefixOption(q, 2, pi), NDP_PREFIX_OPT_LEN);
  t.is(toHex(q), 'a5a5' + '0304' + '0040' + 'ffffffff' + 'ffffffff' + '00000000' + '00'.repeat(16) + 'a5a5');
});

test('the cursor reads back what the writers wrote', (t) => {
  const b = new Uint8Array(NDP_PREFIX_OPT_LEN + NDP_LLA_OPT_LEN + NDP_MTU_OPT_LEN + 8);
  const pi = newNdpPrefixInfo();
  pi.prefixLen = 48;
  pi.autonomous = false;
  pi.validLifetimeSec = 1;
  pi.preferredLifetimeSec = 0;
  pi.prefix.set(parseIPv6('2001:db8:7::'));
  let p = emitNdpPrefixOption(b, 0, pi);
  p += emitNdpLinkAddrOption(b, p, NdpOption.SourceLinkAddr, 0x0200_0000_0001);
  p += emitNdpMtuOption(b, p, 1280);
  b.set([200, 1], p); // an unknown option: skipped over, its bytes handed out
  const cur = new NdpOptionCursor().reset(b, 0, b.length);
  t.true(cur.next());
  t.is(cur.type, NdpOption.PrefixInfo);
  t.deepEqual(
    [cur.prefixLen, cur.onLink, cur.autonomous, cur.validLifetimeSec, cur.preferredLifetimeSec],
    [48, true, false, 1, 0],
  );
  t.is(toHex(b, cur.prefixOff, 16), toHex(parseIPv6('2001:db8:7::')));
  t.true(cur.next());
  t.is(cur.linkAddr, 0x0200_0000_0001);
  t.true(cur.next());
  t.is(cur.mtu, 1280);
  t.true(cur.next());
  t.is(cur.type, 200);
  t.is(cur.optOff, p);
  t.is(cur.optLen, 8);
  t.is(cur.dataOff, p + 2);
  t.false(cur.next());
  t.is(cur.status, WireStatus.Ok);
  t.false(cur.next(), 'stays at the end');
});

const walks = test.macro({
  exec(t, hex: string, want: WireStatus, steps: number) {
    const b = fromHex(hex);
    const cur = new NdpOptionCursor().reset(b, 0, b.length);
    let n = 0;
    while (cur.next()) n++;
    t.is(cur.status, want);
    t.is(n, steps);
    t.false(cur.next(), 'a stopped walk stays stopped');
  },
  title: (what = '', _hex, want, steps) => `walk: ${steps} option(s), then ${want}: ${what}`,
});
test('empty area', walks, '', WireStatus.Ok, 0);
test('zero Length (§4.6)', walks, '0e00 000000000000', WireStatus.BadOption, 0);
test('a good option, then a zero Length', walks, '0e01 000000000000 0e00 000000000000', WireStatus.BadOption, 1);
test('Length past the area', walks, '0e02 000000000000', WireStatus.BadOption, 0);
test('a lone type byte', walks, '0e01 000000000000 0e', WireStatus.BadOption, 1);
test('an SLLA of 16 bytes', walks, '0102' + '00'.repeat(14), WireStatus.BadOption, 0);
test('a TLLA of 8 bytes', walks, '0201 000000000000', WireStatus.Ok, 1);
test('a Prefix Information option of 40 bytes', walks, '0305' + '00'.repeat(38), WireStatus.BadOption, 0);
test('an MTU option of 16 bytes', walks, '0502' + '00'.repeat(14), WireStatus.BadOption, 0);
test('a Redirected Header of any length', walks, '0402' + '00'.repeat(14), WireStatus.Ok, 1);

test('property: the walk never leaves its area and takes at most one step per 8 bytes', (t) => {
  const cur = new NdpOptionCursor();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(8), fc.nat(8), (bytes, lo, trim) => {
      const end = Math.max(lo, bytes.length - trim);
      const probe = new BoundsProbe(bytes).window(lo, end);
      cur.reset(probe.buf, lo, end - lo);
      let steps = 0;
      while (cur.next()) {
        steps++;
        if (cur.optOff + cur.optLen > end) return false;
        if (cur.type === NdpOption.SourceLinkAddr || cur.type === NdpOption.TargetLinkAddr) void cur.linkAddr;
        if (cur.type === NdpOption.Mtu) void cur.mtu;
        if (cur.type === NdpOption.PrefixInfo) void (cur.validLifetimeSec + cur.preferredLifetimeSec + cur.prefixLen);
      }
      return probe.bad === -1 && steps <= (end - lo) / 8;
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
