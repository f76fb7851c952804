/**
 * slirp UDP, DNS forwarding, ICMP echo and the egress policy: datagrams to a local UDP echo
 * server and back (checksums verified, IPv4 and IPv6), the virtual DNS address forwarded to a
 * local stub resolver, idle flows expiring on an injected clock, pings of the Stack's own
 * addresses, broadcast never proxied, and policy denials answered with ICMP and counted.
 */
import test from 'ava';
import * as dgram from 'node:dgram';
import { ManualClock } from '../../src/core/clock.js';
import { Stack } from '../../src/slirp/stack.js';
import { checksum, transportChecksumV6 } from '../../src/wire/checksum.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { echo4, echo6, readUdp, udp4, udp6 } from './packets.js';
import { until, udpEcho, vhost } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const upper = (b: Buffer): Buffer => Buffer.from(b.toString().toUpperCase());

function udpReplies(got: Uint8Array[]): ReturnType<typeof readUdp>[] {
  return got.map(readUdp).filter((x) => x !== null);
}

test('UDP: datagrams to a real echo server come back from it with correct checksums; one flow per 4-tuple', async (t) => {
  const srv = await udpEcho(upper);
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: { allowLoopback: true } });
  const h = vhost(slirp, false);
  h.inject(udp4('10.0.0.2', 5000, '127.0.0.1', srv.port, enc('hello')));
  h.inject(udp4('10.0.0.2', 5000, '127.0.0.1', srv.port, enc('again')));
  t.true(await until(() => udpReplies(h.got).length === 2));
  const r = udpReplies(h.got);
  t.deepEqual(r.map((x) => x!.data.toString()).sort(), ['AGAIN', 'HELLO']);
  t.is(r[0]!.sport, srv.port);
  t.is(r[0]!.dport, 5000);
  t.deepEqual([...h.got[0]!.subarray(12, 20)], [127, 0, 0, 1, 10, 0, 0, 2], 'from the real server to the virtual host');
  t.is(slirp.stats().udpFlows, 1);
  t.is(slirp.stats().udpFlowsOpen, 1);
  await slirp.close();
  t.is(slirp.stats().udpFlowsOpen, 0);
  srv.sock.close();
});

test('UDP over IPv6 to [::1]', async (t) => {
  const sock = dgram.createSocket('udp6');
  sock.on('message', (m, r) => sock.send(upper(m), r.port, r.address));
  await new Promise<void>((r) => sock.bind(0, '::1', r));
  const slirp = new Stack({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', policy: { allowLoopback: true } });
  const h = vhost(slirp, false);
  h.inject(udp6('fd00::2', 5001, '::1', sock.address().port, enc('six')));
  t.true(await until(() => udpReplies(h.got).length === 1));
  const r = udpReplies(h.got)[0]!;
  t.is(r.family, 6);
  t.is(r.data.toString(), 'SIX');
  t.is(r.dport, 5001);
  await slirp.close();
  sock.close();
});

test('DNS: UDP to the virtual resolver address goes to the host resolver (a local stub) and comes back from the virtual address', async (t) => {
  const queries: Buffer[] = [];
  const stub = await udpEcho((q) => {
    queries.push(q);
    const a = Buffer.from(q);
    a[2] = a[2]! | 0x80; // QR: a response
    return a;
  });
  const slirp = new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', dnsServers: [`127.0.0.1:${stub.port}`] });
  const h = vhost(slirp, false);
  const query = Buffer.from('abcd0100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex');
  h.inject(udp4('10.0.0.2', 33333, '10.0.0.3', 53, query));
  t.true(await until(() => udpReplies(h.got).length === 1));
  const r = udpReplies(h.got)[0]!;
  t.is(r.sport, 53);
  t.is(r.dport, 33333);
  t.deepEqual([...h.got[0]!.subarray(12, 16)], [10, 0, 0, 3], 'from the virtual resolver');
  t.is(r.data[2]! & 0x80, 0x80);
  t.true(queries[0]!.equals(query));
  // Not port 53 on the resolver address: port unreachable, nothing forwarded.
  h.inject(udp4('10.0.0.2', 33334, '10.0.0.3', 54, query));
  const icmp = h.got.at(-1)!;
  t.is(icmp[9], IpProto.ICMP);
  t.is(icmp[20], 3);
  t.is(icmp[21], 3, 'port unreachable');
  await slirp.close();
  stub.sock.close();
});

test('UDP flows idle for udpIdleMs are closed (injected clock); a new datagram opens a new flow', async (t) => {
  const srv = await udpEcho();
  const clock = new ManualClock(0);
  const slirp = new Stack({ addr: '10.0.0.1/24', clock, policy: { allowLoopback: true }, limits: { udpIdleMs: 60_000 } });
  const h = vhost(slirp, false);
  h.inject(udp4('10.0.0.2', 6000, '127.0.0.1', srv.port, enc('x')));
  t.true(await until(() => udpReplies(h.got).length === 1));
  clock.advance(30_000);
  t.is(slirp.stats().udpFlowsOpen, 1, 'not idle long enough yet');
  clock.advance(30_000);
  t.is(slirp.stats().udpFlowsOpen, 0);
  t.is(slirp.stats().udpExpired, 1);
  h.inject(udp4('10.0.0.2', 6000, '127.0.0.1', srv.port, enc('y')));
  t.true(await until(() => udpReplies(h.got).length === 2));
  t.is(slirp.stats().udpFlows, 2);
  await slirp.close();
  t.is(clock.pending, 0, 'no timer left');
  srv.sock.close();
});

test('ICMP echo: the Stack answers pings of its own IPv4 and IPv6 addresses; others are dropped and counted', async (t) => {
  // Forwarding to other destinations (test/slirp/icmp.test.ts) off: the fallback of a Stack without ICMP sockets.
  const slirp = new Stack({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', icmp: { forward: false } });
  const h = vhost(slirp, false);
  h.inject(echo4('10.0.0.2', '10.0.0.1', 77, 3, enc('ping-data')));
  t.is(h.got.length, 1);
  const r = h.got[0]!;
  t.is(checksum(r, 0, 20), 0);
  t.is(checksum(r, 20, r.length - 20), 0);
  t.is(r[20], 0, 'echo reply');
  t.deepEqual([...r.subarray(12, 20)], [10, 0, 0, 1, 10, 0, 0, 2]);
  t.is(Buffer.from(r.subarray(28)).toString(), 'ping-data');
  h.inject(echo6('fd00::2', 'fd00::1', 78, 4, enc('ping6')));
  t.is(h.got.length, 2);
  const r6 = h.got[1]!;
  t.is(r6[40], 129, 'ICMPv6 echo reply');
  t.is(transportChecksumV6(IpProto.ICMPv6, r6, 8, 24, r6, 40, r6.length - 40), 0);
  t.is(Buffer.from(r6.subarray(48)).toString(), 'ping6');
  h.inject(echo4('10.0.0.2', '8.8.8.8', 1, 1, enc('x')));
  t.is(h.got.length, 2, 'no reply for another destination without an ICMP socket');
  t.is(slirp.stats().drops.echoUnavailable, 1);
  t.is(slirp.stats().echoReplies, 2);
  await slirp.close();
});

test('broadcast and multicast destinations are never proxied', async (t) => {
  const slirp = new Stack({ addr: '10.0.0.1/24' });
  const h = vhost(slirp, false);
  h.inject(udp4('10.0.0.2', 68, '255.255.255.255', 67, enc('dhcp?')));
  h.inject(udp4('10.0.0.2', 137, '10.0.0.255', 137, enc('netbios')));
  h.inject(udp4('10.0.0.2', 5353, '224.0.0.251', 5353, enc('mdns')));
  h.inject(udp6('fd00::2', 5353, 'ff02::fb', 5353, enc('mdns6')));
  t.is(slirp.stats().drops.broadcast, 4);
  t.is(slirp.stats().udpFlows, 0);
  t.is(h.got.length, 0);
  await slirp.close();
});

test('egress policy: loopback (by default), link-local, metadata and denied prefixes get ICMP admin-prohibited and are counted; an allow list is exhaustive', async (t) => {
  const slirp = new Stack({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', policy: { deny: ['198.51.100.0/24'] } });
  const h = vhost(slirp, false);
  const denied = ['127.0.0.1', '169.254.169.254', '169.254.1.1', '198.51.100.9'];
  for (const d of denied) h.inject(udp4('10.0.0.2', 7000, d, 9, enc('x')));
  h.inject(udp6('fd00::2', 7000, 'fd00:ec2::254', 80, enc('x')));
  h.inject(udp6('fd00::2', 7000, 'fe80::1', 80, enc('x')));
  t.is(slirp.stats().drops.policy, 6);
  t.is(slirp.stats().udpFlows, 0);
  const v4 = h.got.filter((p) => p[0]! >>> 4 === 4);
  t.is(v4.length, 4);
  for (const p of v4) {
    t.is(p[20], 3);
    t.is(p[21], 13, 'communication administratively prohibited');
  }
  const v6 = h.got.filter((p) => p[0]! >>> 4 === 6);
  t.is(v6.length, 2);
  for (const p of v6) t.deepEqual([p[40], p[41]], [1, 1], 'ICMPv6 administratively prohibited');
  // TCP is denied at the SYN: no dial is made.
  const keep = setInterval(() => {}, 1000);
  await t.throwsAsync(h.tcp.dial('169.254.169.254', 80, { timeoutMs: 300 }));
  clearInterval(keep);
  t.is(slirp.stats().dials, 0);
  t.is(slirp.stats().drops.policy, 7);
  h.tcp.close();
  await slirp.close();

  const only = new Stack({ addr: '10.0.0.1/24', policy: { allow: ['192.0.2.0/24'] } });
  const g = vhost(only, false);
  g.inject(udp4('10.0.0.2', 7000, '198.51.100.1', 9, enc('x')));
  t.is(only.stats().drops.policy, 1);
  g.inject(udp4('10.0.0.2', 7000, '192.0.2.1', 9, enc('x')));
  t.is(only.stats().udpFlows, 1);
  await only.close();
});

test('flows per namespace are bounded: past maxFlows new flows are refused and counted', async (t) => {
  const srv = await udpEcho();
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: { allowLoopback: true }, limits: { maxFlows: 3 } });
  const h = vhost(slirp, false);
  for (let i = 0; i < 5; i++) h.inject(udp4('10.0.0.2', 8000 + i, '127.0.0.1', srv.port, enc('x')));
  t.is(slirp.stats().udpFlowsOpen, 3);
  t.is(slirp.stats().drops.flowLimit, 2);
  await slirp.close();
  srv.sock.close();
});
