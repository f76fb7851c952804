import test from 'ava';
import fc from 'fast-check';
import { EthernetView, EtherType, decodeEthernet, emitEthernet, ethernetEmitLen, newEthernetFields, parseEthernet } from '../../src/wire/ethernet.js';
import { WireStatus } from '../../src/wire/status.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { KERNEL_ARP_REQUEST, KERNEL_NDP_RS } from '../vectors/kernel-tap.js';

test('getters on frames the kernel wrote to a TAP (broadcast ARP, IPv6 multicast RS)', (t) => {
  const arp = new EthernetView().reset(fromHex(KERNEL_ARP_REQUEST));
  t.is(arp.check(), WireStatus.Ok);
  t.is(arp.dstMAC, 0xffff_ffff_ffff);
  t.is(arp.srcMAC, 0x026b_0000_0001);
  t.is(arp.etherType, EtherType.ARP);
  t.true(arp.isBroadcast);
  t.true(arp.isMulticast);
  t.false(arp.hasVLAN);
  t.is(arp.payloadLen, 28);
  const rs = new EthernetView().reset(fromHex(KERNEL_NDP_RS));
  t.is(rs.check(), WireStatus.Ok);
  t.is(rs.dstMAC, 0x3333_0000_0002); // RFC 2464 §7: 33:33 + ff02::2's low 32 bits
  t.is(rs.etherType, EtherType.IPv6);
  t.false(rs.isBroadcast);
  t.true(rs.isMulticast);
});

// An untagged frame header: dst 52:54:00:12:34:56, src 02:00:00:00:00:01, IPv6.
const UNTAGGED = fromHex('525400123456 020000000001 86dd 6000');
// Tagged: 802.1Q TPID, PCP 5, DEI 0, VID 100 (0xa064), inner type ARP.
const TAGGED = fromHex('ffffffffffff 020000000001 8100 a064 0806 0001');

test('getters on an untagged frame', (t) => {
  const v = new EthernetView().reset(UNTAGGED);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.dstMAC, 0x5254_0012_3456);
  t.is(v.srcMAC, 0x0200_0000_0001);
  t.is(v.etherType, EtherType.IPv6);
  t.false(v.hasVLAN);
  t.is(v.vlanID, 0);
  t.is(v.headerLen, 14);
  t.is(v.payloadOff, 14);
  t.is(v.payloadLen, 2);
  t.false(v.isBroadcast);
  t.false(v.isMulticast);
});

test('getters on an 802.1Q-tagged broadcast frame', (t) => {
  const v = new EthernetView().reset(TAGGED);
  t.is(v.check(), WireStatus.Ok);
  t.true(v.hasVLAN);
  t.is(v.vlanID, 100);
  t.is(v.vlanPCP, 5);
  t.is(v.etherType, EtherType.ARP);
  t.is(v.headerLen, 18);
  t.is(v.payloadLen, 2);
  t.true(v.isBroadcast);
  t.true(v.isMulticast);
});

test('setters write only their fields into a 0xa5-filled buffer', (t) => {
  const b = filled(18);
  const v = new EthernetView().reset(b, 2, 14);
  v.dstMAC = 0x3333_0000_0001;
  v.srcMAC = 0x0200_0000_00ff;
  v.etherType = EtherType.IPv4;
  t.is(toHex(b), 'a5a5' + '333300000001' + '0200000000ff' + '0800' + 'a5a5');
  const tagged = fromHex(toHex(TAGGED));
  const tv = new EthernetView().reset(tagged);
  tv.vlanID = 4095;
  tv.etherType = EtherType.IPv6;
  t.is(toHex(tagged, 12), '8100afff86dd0001', 'PCP kept, VID and inner type written');
});

test('emit -> parse -> emit round trip, with and without a tag, at an offset', (t) => {
  for (const vlanID of [-1, 0, 7, 4095]) {
    const f = { ...newEthernetFields(), dst: 0xffff_ffff_ffff, src: 0x0242_ac11_0002, etherType: EtherType.ARP, vlanID, pcp: vlanID > 0 ? 3 : 0 };
    const len = ethernetEmitLen(f);
    const a = filled(len);
    t.is(emitEthernet(f, a, 0), len);
    const back = newEthernetFields();
    t.is(parseEthernet(new EthernetView().reset(a), back), WireStatus.Ok);
    t.deepEqual(back, f);
    const big = filled(len + 20);
    t.is(emitEthernet(back, big, 11), len);
    t.is(toHex(big, 11, len), toHex(a));
    t.is(toHex(big, 0, 11) + toHex(big, 11 + len), toHex(filled(20)));
  }
});

test('short frames are rejected', (t) => {
  t.is(new EthernetView().reset(UNTAGGED, 0, 13).check(), WireStatus.Truncated);
  t.is(new EthernetView().reset(TAGGED, 0, 17).check(), WireStatus.Truncated);
  t.is(new EthernetView().reset(TAGGED, 0, 18).check(), WireStatus.Ok);
  t.throws(() => decodeEthernet(new Uint8Array(3)), { instanceOf: WireFormatError, message: /ethernet: truncated/ });
});

test('property: random bytes never throw and Ok means the header is in bounds', (t) => {
  const v = new EthernetView();
  const f = newEthernetFields();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const st = parseEthernet(v.reset(b), f);
      return st !== WireStatus.Ok || (v.payloadOff <= b.length && v.payloadLen >= 0);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
