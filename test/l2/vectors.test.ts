/**
 * The adapter against frames the Linux kernel wrote (test/vectors/l2-captured.ts): it must answer
 * the kernel's requests and solicitations with the bytes the kernel itself answered with, and
 * its own requests, announcements and queued packets must be the kernel's, byte for byte.
 */
import test from 'ava';
import { fromHex, toHex } from '../../src/wire/bytes.js';
import { decodeNdp } from '../../src/wire/ndp.js';
import { formatIPv6 } from '../../src/wire/addr.js';
import * as V from '../vectors/l2-captured.js';
import { adapterWith, addr } from './helpers.js';

/** Adapter A of the capture: 02:00:5e:77:00:01, 10.77.0.1/24 (its L3 device), fd77::1/64. */
function kernelA() {
  const s = adapterWith('10.77.0.1/24', { mac: V.MAC_A });
  s.a.addAddr('fd77::1/64');
  return s;
}

/** Adapter B of the capture: 02:00:5e:77:00:02, 10.77.0.2/24, fd77::2/64. */
function kernelB() {
  const s = adapterWith('10.77.0.2/24', { mac: V.MAC_B });
  s.a.addAddr('fd77::2/64');
  s.out.length = 0;
  return s;
}

const payload = (hex: string) => fromHex(hex).subarray(14);

test('B answers the kernel ARP request with the reply the kernel sent', (t) => {
  const { a, out } = kernelB();
  a.send(fromHex(V.LINUX_ARP_REQUEST));
  t.is(out.length, 1);
  t.is(toHex(out[0]!), V.LINUX_ARP_REPLY);
  t.is(a.neighborState('10.77.0.1'), 'STALE', 'RFC 826: a request for us adds its sender');
});

test('B answers the kernel multicast NS with the NA the kernel sent', (t) => {
  const { a, out } = kernelB();
  a.send(fromHex(V.LINUX_NS_MULTICAST));
  t.is(out.length, 1);
  t.is(toHex(out[0]!), V.LINUX_NA_SOLICITED);
  t.is(a.neighborState('fd77::1'), 'STALE', 'RFC 4861 §7.2.3: the SLLA creates a STALE entry');
});

test('A resolves 10.77.0.2 with the kernel request and sends the queued echo as the kernel did', (t) => {
  const { a, l3, out } = kernelA();
  out.length = 0;
  l3.inject(payload(V.LINUX_ICMP_ECHO_V4));
  t.is(out.length, 1);
  t.is(toHex(out[0]!), V.LINUX_ARP_REQUEST);
  a.send(fromHex(V.LINUX_ARP_REPLY));
  t.is(out.length, 2);
  t.is(toHex(out[1]!), V.LINUX_ICMP_ECHO_V4);
  t.is(a.neighborState('10.77.0.2'), 'REACHABLE');
});

test('A resolves fd77::2 with the kernel NS and sends the queued echo as the kernel did', (t) => {
  const { a, l3, out } = kernelA();
  out.length = 0;
  l3.inject(payload(V.LINUX_ICMPV6_ECHO));
  t.is(out.length, 1);
  t.is(toHex(out[0]!), V.LINUX_NS_MULTICAST);
  a.send(fromHex(V.LINUX_NA_SOLICITED));
  t.is(out.length, 2);
  t.is(toHex(out[1]!), V.LINUX_ICMPV6_ECHO);
  t.is(a.neighborState('fd77::2'), 'REACHABLE');
});

test('A announces its addresses as the kernel did: gratuitous ARP and unsolicited NA', (t) => {
  const { a, out, clock } = kernelA();
  // setHandler announced 10.77.0.1; addAddr announced fd77::1.
  t.is(toHex(out[0]!), V.LINUX_ARP_GRATUITOUS);
  t.is(toHex(out[1]!), V.LINUX_NA_UNSOLICITED);
  clock.advance(2000); // RFC 5227 ANNOUNCE_NUM 2, ANNOUNCE_INTERVAL 2 s
  t.is(out.length, 3);
  t.is(toHex(out[2]!), V.LINUX_ARP_GRATUITOUS);
  clock.advance(10_000);
  t.is(out.length, 3);
  t.is(a.stats().events.arpAnnouncementsSent, 2);
});

test('A answers an RFC 5227 probe for its address as the kernel did', (t) => {
  const { a, out } = kernelA();
  out.length = 0;
  a.send(fromHex(V.PROBE_ARP_FROM_B));
  t.is(out.length, 1);
  t.is(toHex(out[0]!), V.LINUX_ARP_PROBE_REPLY);
  t.is(a.neighborState('10.77.0.2'), null, 'a probe teaches nothing');
});

test('A defends its link-local against the kernel DAD probe with the kernel NA', (t) => {
  const { a, out } = kernelA();
  out.length = 0;
  t.is(formatIPv6(a.linkLocal!.addr.bytes), 'fe80::5eff:fe77:1', 'modified EUI-64 of 02:00:5e:77:00:01');
  a.send(fromHex(V.LINUX_NS_DAD_LINK_LOCAL));
  t.is(out.length, 1);
  t.is(toHex(out[0]!), V.LINUX_NA_UNSOLICITED_LINK_LOCAL);
  t.is(a.stats().events.addressConflicts, 1);
});

test('A re-verifies a stale neighbour with the kernel unicast ARP request; the reply confirms it', (t) => {
  const { a, l3, out, clock } = kernelA();
  l3.inject(payload(V.LINUX_ICMP_ECHO_V4));
  a.send(fromHex(V.LINUX_ARP_REPLY));
  clock.advance(30_000); // ReachableTime (random 0.5: exactly BaseReachableTime)
  t.is(a.neighborState('10.77.0.2'), 'STALE');
  l3.inject(payload(V.LINUX_ICMP_ECHO_V4));
  t.is(a.neighborState('10.77.0.2'), 'DELAY');
  out.length = 0;
  clock.advance(5000);
  t.is(a.neighborState('10.77.0.2'), 'PROBE');
  t.is(out.length, 1);
  t.is(toHex(out[0]!), V.LINUX_ARP_REQUEST_UNICAST);
  a.send(fromHex(V.LINUX_ARP_REPLY));
  t.is(a.neighborState('10.77.0.2'), 'REACHABLE');
});

test('B answers the kernel unicast NS (probe) with a solicited NA; A takes a TLLA-less NA as confirmation', (t) => {
  const b = kernelB();
  b.a.send(fromHex(V.LINUX_NS_UNICAST));
  t.is(b.out.length, 1);
  const na = b.out[0]!;
  t.is(toHex(na, 0, 6), '02005e770001', 'to the SLLA of the solicitation');
  t.is(formatIPv6(na, 14 + 24), 'fe80::5eff:fe77:1');
  const f = decodeNdp(na, 54);
  t.true(f.solicited && f.override);
  t.is(f.targetMac, V.MAC_B);

  const { a, l3, clock } = kernelA();
  l3.inject(payload(V.LINUX_ICMPV6_ECHO));
  a.send(fromHex(V.LINUX_NA_SOLICITED));
  clock.advance(30_000);
  l3.inject(payload(V.LINUX_ICMPV6_ECHO));
  clock.advance(5000);
  t.is(a.neighborState('fd77::2'), 'PROBE');
  a.send(fromHex(V.LINUX_NA_UNICAST_NO_TLLA));
  t.is(a.neighborState('fd77::2'), 'REACHABLE', 'RFC 4861 §7.2.5: S set, no TLLA: REACHABLE');
  t.true(a.neighbors().some((n) => n.addr.equals(addr('fd77::2')) && n.mac === V.MAC_B));
});

test('a Router Solicitation (all-routers group) goes on to the L3 device once the group is joined', (t) => {
  const { a, l3 } = kernelB();
  l3.got.length = 0;
  a.send(fromHex(V.LINUX_RS));
  t.is(l3.got.length, 0, 'a host does not listen to ff02::2');
  t.is(a.stats().drops['not-for-us'], 1);
  a.joinGroup('33:33:00:00:00:02');
  a.send(fromHex(V.LINUX_RS));
  t.is(l3.got.length, 1);
  t.is(toHex(l3.got[0]!), toHex(payload(V.LINUX_RS)));
});

test('no kernel vector is dropped as malformed', (t) => {
  const { a } = kernelB();
  for (const hex of Object.values(V)) if (typeof hex === 'string') a.send(fromHex(hex));
  const drops = a.stats().drops;
  for (const bad of ['truncated', 'bad-checksum', 'bad-option', 'bad-value', 'bad-hop-limit', 'not-valid']) t.is(drops[bad], undefined, bad);
});
