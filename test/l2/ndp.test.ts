/** Neighbor Discovery through an L2Hub between two adapters, with injected time. */
import test from 'ava';
import { formatIPv6 } from '../../src/wire/addr.js';
import { NdpType, decodeNdp } from '../../src/wire/ndp.js';
import { adapterWith, fixIcmpv6Checksum, icmp6Type, ndFrame, pair, udp6 } from './helpers.js';

const MAC_A = 0x0200_0000_000a;
const MAC_B = 0x0200_0000_000b;

test('resolution: multicast NS to the solicited-node group, queued packets flushed on the NA', (t) => {
  const { a, b, l3a, l3b } = pair();
  l3a.inject(udp6('fd00::1', 'fd00::2', 1));
  l3a.inject(udp6('fd00::1', 'fd00::2', 2));
  t.deepEqual(l3b.got.map((p) => p[48]), [1, 2]);
  t.is(a.neighborState('fd00::2'), 'REACHABLE');
  t.is(b.neighborState('fd00::1'), 'STALE', '§7.2.3: the SLLA of the NS');
  t.is(a.stats().events.nsSent, 1);
  t.true(b.stats().events.naSent >= 1);
  t.is(a.stats().pendingPackets, 0);
});

test('the NS goes to ff02::1:ffXX:XXXX at 33:33:ff:XX:XX:XX from the matching address, with SLLA', (t) => {
  const s = adapterWith(null, { mac: MAC_A });
  s.a.addAddr('fd00::1/64');
  s.out.length = 0;
  s.l3.inject(udp6('fd00::1', 'fd00::12:3456', 1));
  t.is(s.out.length, 1);
  const ns = s.out[0]!;
  t.deepEqual([...ns.subarray(0, 6)], [0x33, 0x33, 0xff, 0x12, 0x34, 0x56]);
  t.is(formatIPv6(ns, 14 + 8), 'fd00::1');
  t.is(formatIPv6(ns, 14 + 24), 'ff02::1:ff12:3456');
  t.is(ns[14 + 7], 255, 'hop limit 255');
  const f = decodeNdp(ns, 54);
  t.is(f.type, NdpType.NeighborSolicitation);
  t.is(formatIPv6(f.target), 'fd00::12:3456');
  t.is(f.srcMac, MAC_A);
});

test('state transitions: REACHABLE -> STALE -> DELAY -> PROBE -> REACHABLE', (t) => {
  const { a, b, l3a, clock } = pair();
  l3a.inject(udp6('fd00::1', 'fd00::2'));
  t.is(a.neighborState('fd00::2'), 'REACHABLE');
  clock.advance(29_999);
  t.is(a.neighborState('fd00::2'), 'REACHABLE');
  clock.advance(1);
  t.is(a.neighborState('fd00::2'), 'STALE', 'REACHABLE_TIME 30 s (random factor 1.0)');
  l3a.inject(udp6('fd00::1', 'fd00::2'));
  t.is(a.neighborState('fd00::2'), 'DELAY', '§7.3.3: sending on STALE');
  const naBefore = b.stats().events.naSent;
  clock.advance(4999);
  t.is(a.neighborState('fd00::2'), 'DELAY');
  clock.advance(1);
  // DELAY_FIRST_PROBE_TIME over: PROBE sends a unicast NS, B answers (S set): REACHABLE.
  t.is(a.neighborState('fd00::2'), 'REACHABLE');
  t.is(a.stats().events.nsSent, 2);
  t.is(b.stats().events.naSent, naBefore + 1);
});

test('state transitions: PROBE without an answer removes the entry after MAX_UNICAST_SOLICIT', (t) => {
  const { a, l3a, hb, clock } = pair();
  l3a.inject(udp6('fd00::1', 'fd00::2'));
  hb.close();
  clock.advance(30_000);
  l3a.inject(udp6('fd00::1', 'fd00::2'));
  clock.advance(5000);
  t.is(a.neighborState('fd00::2'), 'PROBE');
  t.is(a.stats().events.nsSent, 2);
  clock.advance(1000);
  clock.advance(1000);
  t.is(a.stats().events.nsSent, 4);
  t.is(a.neighborState('fd00::2'), 'PROBE');
  clock.advance(1000);
  t.is(a.neighborState('fd00::2'), null);
  t.is(a.stats().ndpEntries, 0);
});

test('resolution failure after 3 multicast NS drops the queue', (t) => {
  const { a, l3, clock } = adapterWith('fd00::1/64');
  l3.inject(udp6('fd00::1', 'fd00::99'));
  clock.advance(3000);
  t.is(a.stats().events.nsSent, 3);
  t.is(a.neighborState('fd00::99'), null);
  t.is(a.stats().drops['resolution-failed'], 1);
});

test('ND with hop limit other than 255 is dropped and counted, never answered', (t) => {
  const { a, out } = adapterWith('fd00::1/64', { mac: MAC_A });
  out.length = 0;
  const ns = ndFrame({ type: NdpType.NeighborSolicitation, src: 'fd00::2', dst: 'ff02::1:ff00:1', target: 'fd00::1', lla: MAC_B, hopLimit: 254, ethDst: 0x3333_ff00_0001, ethSrc: MAC_B });
  a.send(ns);
  t.is(out.length, 0);
  t.is(a.stats().drops['bad-hop-limit'], 1);
  t.is(a.neighborState('fd00::2'), null);
  ns[14 + 7] = 255;
  a.send(ns); // the checksum does not cover the hop limit
  t.is(out.length, 1);
  t.is(icmp6Type(out[0]!), NdpType.NeighborAdvertisement);
});

test('invalid ND messages are dropped by reason', (t) => {
  const { a, out } = adapterWith('fd00::1/64', { mac: MAC_A });
  out.length = 0;
  const base = { src: 'fd00::2', dst: 'ff02::1:ff00:1', target: 'fd00::1', ethDst: 0x3333_ff00_0001, ethSrc: MAC_B };
  const bad = ndFrame({ type: NdpType.NeighborSolicitation, lla: MAC_B, ...base });
  bad[60] = bad[60]! ^ 0xff; // corrupt a reserved byte: the checksum fails
  a.send(bad);
  // DAD from :: must carry no SLLA (§7.1.1).
  a.send(ndFrame({ type: NdpType.NeighborSolicitation, lla: MAC_B, ...base, src: '::' }));
  // An NA to a multicast address with S set (§7.1.2).
  a.send(ndFrame({ type: NdpType.NeighborAdvertisement, src: 'fd00::2', dst: 'ff02::1', target: 'fd00::2', lla: MAC_B, solicited: true, ethDst: 0x3333_0000_0001, ethSrc: MAC_B }));
  // An NS for someone else.
  a.send(ndFrame({ type: NdpType.NeighborSolicitation, lla: MAC_B, ...base, target: 'fd00::77', dst: 'ff02::1:ff00:1' }));
  // A zero-length option (§4.6: MUST be discarded).
  const zeroOpt = ndFrame({ type: NdpType.NeighborSolicitation, lla: MAC_B, ...base });
  zeroOpt[14 + 40 + 24 + 1] = 0;
  fixIcmpv6Checksum(zeroOpt);
  a.send(zeroOpt);
  const d = a.stats().drops;
  t.is(d['bad-checksum'], 1);
  t.is(d['not-valid'], 2);
  t.is(d['not-for-us'], 1);
  t.is(d['bad-option'], 1);
  t.is(out.length, 0);
  t.is(a.stats().ndpEntries, 0);
});

test('frames to another solicited-node group are filtered by MAC', (t) => {
  const { a, out } = adapterWith('fd00::1/64', { mac: MAC_A });
  out.length = 0;
  a.send(ndFrame({ type: NdpType.NeighborSolicitation, src: 'fd00::2', dst: 'ff02::1:ff00:7', target: 'fd00::7', lla: MAC_B, ethDst: 0x3333_ff00_0007, ethSrc: MAC_B }));
  t.is(a.stats().drops['not-for-us'], 1);
  t.is(out.length, 0);
});

test('§7.2.5: an NA without Override does not replace a MAC; with Override it does', (t) => {
  const { a, b, l3a } = pair();
  l3a.inject(udp6('fd00::1', 'fd00::2'));
  const na = (lla: number, override: boolean, solicited: boolean) =>
    ndFrame({ type: NdpType.NeighborAdvertisement, src: 'fd00::2', dst: 'fd00::1', target: 'fd00::2', lla, override, solicited, ethDst: MAC_A, ethSrc: MAC_B });
  a.send(na(0x0200_0000_00cc, false, false));
  t.is(a.neighborState('fd00::2'), 'STALE', 'REACHABLE with a different MAC and O clear: STALE');
  t.is(a.neighbors().find((n) => n.addr.toString() === 'fd00::2')!.mac, MAC_B, 'MAC kept');
  a.send(na(0x0200_0000_00cc, true, false));
  t.is(a.neighbors().find((n) => n.addr.toString() === 'fd00::2')!.mac, 0x0200_0000_00cc, 'O set: replaced');
  t.is(a.neighborState('fd00::2'), 'STALE', 'S clear and a new MAC: STALE');
  a.send(na(0x0200_0000_00cc, false, true));
  t.is(a.neighborState('fd00::2'), 'REACHABLE', 'S set, same MAC: REACHABLE');
  // An unsolicited NA for an unknown target creates nothing.
  a.send(ndFrame({ type: NdpType.NeighborAdvertisement, src: 'fd00::5', dst: 'ff02::1', target: 'fd00::5', lla: 0x0200_0000_0005, override: true, ethDst: 0x3333_0000_0001, ethSrc: 0x0200_0000_0005 }));
  t.is(a.neighborState('fd00::5'), null);
  t.is(b.neighborState('fd00::1'), 'STALE');
});

test('gateway routing: off-link IPv6 goes to the gateway; a link-local gateway works', (t) => {
  const { a, b, l3a, l3b } = pair();
  l3a.inject(udp6('fd00::1', '2001:db8::1', 1));
  t.is(a.stats().drops['no-route'], 1);
  a.setGateway('fd00::2');
  t.is(a.gateway6!.toString(), 'fd00::2');
  l3a.inject(udp6('fd00::1', '2001:db8::1', 2));
  t.is(l3b.got.length, 1);
  t.is(formatIPv6(l3b.got[0]!, 24), '2001:db8::1');
  t.is(a.neighborState('2001:db8::1'), null);
  a.setGateway(b.linkLocal!.addr);
  l3a.inject(udp6('fd00::1', '2001:db8::1', 3));
  t.is(l3b.got.length, 2);
  t.is(a.neighborState(b.linkLocal!.addr), 'REACHABLE', 'resolved from the link-local');
  a.setGateway(null);
  t.is(a.gateway6, null);
  t.is(a.gateway4, null);
});

test('an IPv4 device gets IPv6 link-local connectivity', (t) => {
  const { a, b, l3a, l3b } = pair();
  const llA = a.linkLocal!.addr.toString();
  const llB = b.linkLocal!.addr.toString();
  t.is(llA, 'fe80::ff:fe00:a');
  l3a.inject(udp6(llA, llB, 5));
  t.is(l3b.got.length, 1);
  t.is(l3b.got[0]![48], 5);
});

test('a Router Advertisement with SLLA from a link-local source is learnt (STALE) and passed on', (t) => {
  const { a, l3 } = adapterWith('fd00::1/64', { mac: MAC_A });
  // An NS frame from the helper, rewritten into an RA: type 134, the RA's fixed fields zero, and
  // the SLLA option moved to offset 16 of the message (where RA options start).
  const ra = ndFrame({ type: NdpType.NeighborSolicitation, src: 'fe80::1', dst: 'ff02::1', target: 'fd00::1', lla: MAC_B, ethDst: 0x3333_0000_0001, ethSrc: MAC_B });
  const m = 54;
  ra[m] = NdpType.RouterAdvertisement;
  ra.fill(0, m + 4, m + 16);
  ra.copyWithin(m + 16, m + 24, m + 32); // SLLA option
  const trimmed = ra.slice(0, m + 24);
  trimmed[14 + 5] = 24; // payload length
  fixIcmpv6Checksum(trimmed);
  a.send(trimmed);
  t.is(a.neighborState('fe80::1'), 'STALE');
  t.is(l3.got.length, 1, 'the RA reaches the L3 device');
  // From a global source it is invalid (§6.1.2).
  const global = trimmed.slice();
  global.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9], 14 + 8);
  fixIcmpv6Checksum(global);
  a.send(global);
  t.is(a.stats().drops['not-valid'], 1);
  t.is(l3.got.length, 1);
});

test('a DAD probe for our address is defended (NA to all-nodes, S clear) and counted', (t) => {
  const { a, out } = adapterWith('fd00::1/64', { mac: MAC_A });
  out.length = 0;
  a.send(ndFrame({ type: NdpType.NeighborSolicitation, src: '::', dst: 'ff02::1:ff00:1', target: 'fd00::1', ethDst: 0x3333_ff00_0001, ethSrc: MAC_B }));
  t.is(out.length, 1);
  t.is(formatIPv6(out[0]!, 14 + 24), 'ff02::1');
  const f = decodeNdp(out[0]!, 54);
  t.false(f.solicited);
  t.true(f.override);
  t.is(a.stats().events.addressConflicts, 1);
});

test('an NS from one of our own addresses is a conflict, not a neighbour', (t) => {
  const { a, out } = adapterWith('fd00::1/64', { mac: MAC_A });
  out.length = 0;
  a.send(ndFrame({ type: NdpType.NeighborSolicitation, src: 'fd00::1', dst: 'ff02::1:ff00:1', target: 'fd00::1', lla: MAC_B, ethDst: 0x3333_ff00_0001, ethSrc: MAC_B }));
  t.is(a.stats().events.addressConflicts, 1);
  t.is(a.neighborState('fd00::1'), null);
  t.is(out.length, 0);
});

test('§7.2.3: an NS from a neighbour being resolved gives its MAC; the queue leaves and the entry goes DELAY', (t) => {
  const { a, l3, out } = adapterWith('fd00::1/64', { mac: MAC_A });
  l3.inject(udp6('fd00::1', 'fd00::2', 42));
  t.is(a.neighborState('fd00::2'), 'INCOMPLETE');
  out.length = 0;
  a.send(ndFrame({ type: NdpType.NeighborSolicitation, src: 'fd00::2', dst: 'ff02::1:ff00:1', target: 'fd00::1', lla: MAC_B, ethDst: 0x3333_ff00_0001, ethSrc: MAC_B }));
  const data = out.filter((f) => f[20] === 17);
  t.is(data.length, 1);
  t.is(data[0]![14 + 48], 42);
  t.is(data[0]![5], 0x0b, 'to the SLLA');
  t.is(a.neighborState('fd00::2'), 'DELAY', 'learnt STALE, then a packet was sent on it');
  t.is(out.filter((f) => icmp6Type(f) === NdpType.NeighborAdvertisement).length, 1, 'and the NS is answered');
});
