/** ARP through an L2Hub between two adapters, with injected time. */
import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { L2Hub } from '../../src/core/l2-hub.js';
import { PipeL2 } from '../../src/core/pipe.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, decodeArp } from '../../src/wire/arp.js';
import { formatIPv4 } from '../../src/wire/addr.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { adapterWith, arpFrame, arpRequest, countType, ip4, pair, udp4 } from './helpers.js';

test('resolution through a hub: the first packet waits, is delivered, and the rest go direct', (t) => {
  const { a, b, l3a, l3b } = pair();
  l3a.inject(udp4('10.0.0.1', '10.0.0.2', 1));
  t.is(l3b.got.length, 1, 'queued packet flushed once B answered');
  t.is(l3b.got[0]![28], 1);
  t.is(a.neighborState('10.0.0.2'), 'REACHABLE');
  t.is(b.neighborState('10.0.0.1'), 'STALE', 'B learnt A from the request for its address');
  for (let i = 2; i <= 5; i++) l3a.inject(udp4('10.0.0.1', '10.0.0.2', i));
  t.deepEqual(l3b.got.map((p) => p[28]), [1, 2, 3, 4, 5]);
  const s = a.stats();
  t.is(s.events.arpRequestsSent, 1);
  t.is(s.events.resolved, 1);
  t.is(s.pendingPackets, 0);
  // B's reply goes back without resolving: it learnt A.
  l3b.inject(udp4('10.0.0.2', '10.0.0.1', 9));
  t.is(l3a.got.length, 1);
  t.is(b.stats().events.arpRequestsSent, 0);
});

test('pending queue: 16 packets copied and flushed in order, overflow dropped and counted', (t) => {
  const { a, l3, out } = adapterWith('10.0.0.1/24', { mac: 0x0200_0000_000a });
  out.length = 0;
  const pkt = udp4('10.0.0.1', '10.0.0.2', 0);
  for (let i = 0; i < 20; i++) {
    pkt[28] = i;
    l3.inject(pkt); // the same buffer each time: the queue must copy
  }
  t.is(countType(out, EtherType.ARP, ARP_OP_REQUEST), 1, 'one request for the whole queue');
  t.is(a.stats().pendingPackets, 16);
  t.is(a.stats().drops['queue-full'], 4);
  out.length = 0;
  a.send(arpFrame(ARP_OP_REPLY, 0x0200_0000_000a, 0x0200_0000_000b, '10.0.0.2', 0x0200_0000_000a, '10.0.0.1'));
  const data = out.filter((f) => f[12] === 0x08 && f[13] === 0x00);
  t.deepEqual(data.map((f) => f[14 + 28]), [...Array(16).keys()]);
  t.true(data.every((f) => f[0] === 0x02 && f[5] === 0x0b), 'to the resolved MAC');
  t.is(a.stats().pendingPackets, 0);
  t.is(l3.got.length, 0);
});

test('retries: 3 requests 1 s apart, then failure drops the queue (counted) and removes the entry', (t) => {
  const { a, l3, clock } = adapterWith('10.0.0.1/24');
  const requests = () => a.stats().events.arpRequestsSent;
  l3.inject(udp4('10.0.0.1', '10.0.0.99', 1));
  l3.inject(udp4('10.0.0.1', '10.0.0.99', 2));
  t.is(requests(), 1);
  clock.advance(999);
  t.is(requests(), 1);
  clock.advance(1);
  t.is(requests(), 2);
  clock.advance(1000);
  t.is(requests(), 3);
  t.is(a.neighborState('10.0.0.99'), 'INCOMPLETE');
  clock.advance(1000);
  t.is(requests(), 3, 'MAX_MULTICAST_SOLICIT is 3');
  t.is(a.neighborState('10.0.0.99'), null);
  const s = a.stats();
  t.is(s.drops['resolution-failed'], 2);
  t.is(s.events.resolutionFailures, 1);
  t.is(s.pendingPackets, 0);
  t.is(clock.pending, 0, 'no timer left for the failed entry');
  // A new packet starts over.
  l3.inject(udp4('10.0.0.1', '10.0.0.99', 3));
  t.is(requests(), 4);
});

test('cache expiry: REACHABLE 30 s, STALE, then removed after 60 s unused', (t) => {
  const { a, l3a, clock } = pair();
  l3a.inject(udp4('10.0.0.1', '10.0.0.2'));
  t.is(a.neighborState('10.0.0.2'), 'REACHABLE');
  clock.advance(29_999);
  t.is(a.neighborState('10.0.0.2'), 'REACHABLE');
  clock.advance(1);
  t.is(a.neighborState('10.0.0.2'), 'STALE');
  clock.advance(60_000);
  t.is(a.neighborState('10.0.0.2'), null);
  t.is(a.stats().arpEntries, 0);
});

test('a stale entry in use is re-verified by unicast requests and confirmed by the reply', (t) => {
  const { a, b, l3a, l3b, clock } = pair();
  l3a.inject(udp4('10.0.0.1', '10.0.0.2'));
  clock.advance(30_000);
  l3a.inject(udp4('10.0.0.1', '10.0.0.2', 7));
  t.is(l3b.got.at(-1)![28], 7, 'a STALE entry is still used');
  t.is(a.neighborState('10.0.0.2'), 'DELAY');
  clock.advance(5000);
  // PROBE: B answers the unicast request at once through the hub.
  t.is(a.neighborState('10.0.0.2'), 'REACHABLE');
  t.is(a.stats().events.arpRequestsSent, 2);
  t.is(b.stats().events.arpRepliesSent, 2);
});

test('a stale entry whose neighbour is gone is removed after 3 unicast probes', (t) => {
  const { a, l3a, hb, clock } = pair();
  l3a.inject(udp4('10.0.0.1', '10.0.0.2'));
  hb.close();
  clock.advance(30_000);
  l3a.inject(udp4('10.0.0.1', '10.0.0.2'));
  clock.advance(5000);
  t.is(a.neighborState('10.0.0.2'), 'PROBE');
  clock.advance(2000);
  t.is(a.neighborState('10.0.0.2'), 'PROBE');
  clock.advance(1000);
  t.is(a.neighborState('10.0.0.2'), null);
  t.is(a.stats().events.arpRequestsSent, 4, '1 multicast + 3 unicast');
});

test('gratuitous ARP on address change: announced twice, learnt only by hosts with an entry', (t) => {
  const { a, b, l3a, l3b, clock } = pair();
  l3a.inject(udp4('10.0.0.1', '10.0.0.2'));
  const before = b.stats().events.arpAnnouncementsSent; // B announced 10.0.0.2 when it joined the hub
  l3b.setAddr('10.0.0.3/24');
  t.is(b.stats().events.arpAnnouncementsSent, before + 1);
  t.is(a.neighborState('10.0.0.3'), null, 'RFC 826 merge: not for A, and A had no entry');
  t.is(a.stats().events.addressConflicts, 0);
  clock.advance(2000);
  t.is(b.stats().events.arpAnnouncementsSent, before + 2);
  clock.advance(10_000);
  t.is(b.stats().events.arpAnnouncementsSent, before + 2, 'ANNOUNCE_NUM is 2');
  // B now answers for 10.0.0.3 (and no longer for 10.0.0.2).
  l3a.inject(udp4('10.0.0.1', '10.0.0.3', 4));
  t.is(l3b.got.at(-1)![28], 4);
  t.is(a.neighborState('10.0.0.3'), 'REACHABLE');
});

test('gratuitous ARP carries the new address as sender and target', (t) => {
  const { l3, out } = adapterWith('10.0.0.1/24', { mac: 0x0200_0000_000a });
  out.length = 0;
  l3.setAddr('192.168.7.9/24');
  t.is(out.length, 1);
  const f = decodeArp(out[0]!, 14);
  t.is(f.op, ARP_OP_REQUEST);
  t.is(formatIPv4(f.senderIp), '192.168.7.9');
  t.is(formatIPv4(f.targetIp), '192.168.7.9');
  t.is(f.targetMac, 0);
  t.is(out[0]![0], 0xff);
});

test('a changed MAC in a gratuitous ARP replaces the cached one', (t) => {
  const { a, l3, out } = adapterWith('10.0.0.1/24', { mac: 0x0200_0000_000a });
  l3.inject(udp4('10.0.0.1', '10.0.0.2'));
  a.send(arpFrame(ARP_OP_REPLY, 0x0200_0000_000a, 0x0200_0000_000b, '10.0.0.2', 0x0200_0000_000a, '10.0.0.1'));
  a.send(arpFrame(ARP_OP_REQUEST, 0xffff_ffff_ffff, 0x0200_0000_00cc, '10.0.0.2', 0, '10.0.0.2'));
  t.is(a.neighbors()[0]!.mac, 0x0200_0000_00cc);
  t.is(a.neighborState('10.0.0.2'), 'STALE');
  out.length = 0;
  l3.inject(udp4('10.0.0.1', '10.0.0.2'));
  t.is(out[0]![5], 0xcc);
});

test('gateway routing: off-subnet IPv4 goes to the gateway MAC; no gateway is no-route', (t) => {
  const { a, b, l3a, l3b } = pair();
  l3a.inject(udp4('10.0.0.1', '8.8.8.8', 1));
  t.is(a.stats().drops['no-route'], 1);
  t.is(l3b.got.length, 0);
  a.setGateway('10.0.0.2');
  t.is(a.gateway4!.toString(), '10.0.0.2');
  l3a.inject(udp4('10.0.0.1', '8.8.8.8', 2));
  t.is(l3b.got.length, 1, 'delivered to the gateway');
  t.is(formatIPv4(((l3b.got[0]![16]! << 24) | (l3b.got[0]![17]! << 16) | (l3b.got[0]![18]! << 8) | l3b.got[0]![19]!) >>> 0), '8.8.8.8');
  t.is(a.neighborState('10.0.0.2'), 'REACHABLE');
  t.is(a.neighborState('8.8.8.8'), null, 'the destination is never resolved');
  a.setGateway(null, 4);
  l3a.inject(udp4('10.0.0.1', '8.8.8.8', 3));
  t.is(a.stats().drops['no-route'], 2);
  t.is(b.stats().rxFrames > 0, true);
});

test('broadcast and multicast IPv4 need no resolution', (t) => {
  const { a, l3, out } = adapterWith('10.0.0.1/24');
  out.length = 0;
  l3.inject(udp4('10.0.0.1', '255.255.255.255'));
  l3.inject(udp4('10.0.0.1', '10.0.0.255'));
  l3.inject(udp4('10.0.0.1', '224.0.0.251'));
  t.is(out.length, 3);
  t.is(out[0]![0], 0xff);
  t.is(out[1]![0], 0xff, 'directed broadcast of the /24');
  t.deepEqual([...out[2]!.subarray(0, 6)], [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
  t.is(a.stats().events.arpRequestsSent, 0);
});

test('probe: an address in use is reported at once, a free one after the timeout', (t) => {
  const { a, b, clock } = pair();
  const results: [string, boolean][] = [];
  a.probe(ip4('10.0.0.2'), (inUse) => results.push(['b', inUse]));
  t.deepEqual(results, [], 'never called back inside probe()');
  clock.advance(0);
  t.deepEqual(results, [['b', true]], 'B answered the first probe');
  a.probe(ip4('10.0.0.50'), (inUse) => results.push(['free', inUse]), 3000);
  clock.advance(2999);
  t.is(results.length, 1);
  clock.advance(1);
  t.deepEqual(results[1], ['free', false]);
  t.is(a.stats().events.arpProbesSent, 1 + 3);
  t.is(b.neighborState('10.0.0.1'), null, 'probes teach nothing');
});

test('probe: another host probing the same address means in use', (t) => {
  const { a, out, clock } = adapterWith('10.0.0.1/24', { mac: 0x0200_0000_000a });
  let got: boolean | undefined;
  a.probe(ip4('10.0.0.77'), (inUse) => (got = inUse), 3000);
  clock.advance(500);
  t.is(out.filter((f) => f[12] === 0x08 && f[13] === 0x06 && f[28] === 0).length, 1, 'one probe from 0.0.0.0 so far');
  out.length = 0;
  a.send(arpFrame(ARP_OP_REQUEST, 0xffff_ffff_ffff, 0x0200_0000_00ee, '0.0.0.0', 0, '10.0.0.77'));
  t.is(got, true);
  clock.advance(10_000);
  t.is(out.filter((f) => f[12] === 0x08 && f[13] === 0x06 && f[28] === 0).length, 0, 'no more probes after the verdict');
  t.is(clock.pending, 0);
});

test('probeAsync resolves, and rejects when the adapter closes first', async (t) => {
  const { a, clock } = adapterWith('10.0.0.1/24');
  const p = a.probeAsync(ip4('10.0.0.9'), 1000);
  clock.advance(1000);
  t.false(await p);
  const q = a.probeAsync(ip4('10.0.0.9'), 1000);
  a.close();
  await t.throwsAsync(q, { code: 'ERR_PKT_CLOSED' });
});

test('table bound: a flood of requests for us from distinct senders never grows the cache', (t) => {
  const { a, out } = adapterWith('10.0.0.1/8', { maxNeighbors: 64 });
  for (let i = 0; i < 1000; i++) a.send(arpRequest(0x0200_0100_0000 + i, formatIPv4(0x0a010000 + i), '10.0.0.1'));
  const s = a.stats();
  t.is(s.arpEntries, 64);
  t.is(s.events.evictions, 1000 - 64);
  t.is(s.events.arpRepliesSent, 1000);
  t.true(out.length >= 1000);
  // Broadcasts not for us teach nothing (RFC 826 merge): the cache keeps its size.
  for (let i = 0; i < 1000; i++) a.send(arpRequest(0x0200_0200_0000 + i, formatIPv4(0x0b010000 + i), '10.0.0.2'));
  t.is(a.stats().arpEntries, 64);
  t.false(a.neighbors().some((n) => n.addr.toString().startsWith('11.')));
});

test('malformed and hostile ARP is dropped and counted', (t) => {
  const { a, out } = adapterWith('10.0.0.1/24', { mac: 0x0200_0000_000a });
  out.length = 0;
  const good = arpRequest(0x0200_0000_000b, '10.0.0.2', '10.0.0.1');
  a.send(good.subarray(0, 30));
  const groupSender = arpRequest(0x0300_0000_000b, '10.0.0.2', '10.0.0.1');
  a.send(groupSender);
  const rarp = good.slice();
  rarp[21] = 3;
  a.send(rarp);
  const ownMac = arpRequest(0x0200_0000_000a, '10.0.0.2', '10.0.0.1');
  a.send(ownMac);
  a.send(arpRequest(0x0200_0000_000c, '10.0.0.1', '10.0.0.1')); // someone claims our address
  const s = a.stats();
  t.is(s.drops.truncated, 1);
  t.is(s.drops['bad-source-mac'], 1);
  t.is(s.drops.unsupported, 1);
  t.is(s.drops.loop, 1);
  t.is(s.events.addressConflicts, 1);
  t.is(out.length, 0);
  t.is(s.arpEntries, 0);
});

test('the hub sees one unicast reply per request (no flood after learning)', (t) => {
  const clock = new ManualClock();
  const hub = new L2Hub({ clock, hashSeed: 1 });
  const { a, l3 } = adapterWith('10.0.0.1/24', { clock, mac: 0x0200_0000_000a });
  const spy = new PipeL2(0x0200_0000_00ff);
  const seen: Uint8Array[] = [];
  spy.onSend = (f) => seen.push(f.slice());
  hub.connect(a);
  hub.connect(spy);
  l3.inject(udp4('10.0.0.1', '10.0.0.2'));
  t.is(countType(seen, EtherType.ARP, ARP_OP_REQUEST), 1);
  spy.inject(arpFrame(ARP_OP_REPLY, 0x0200_0000_000a, 0x0200_0000_00ff, '10.0.0.2', 0x0200_0000_000a, '10.0.0.1'));
  t.is(countType(seen, EtherType.IPv4), 1, 'the queued packet reached the spy');
  hub.close();
});

test('eviction of an unresolved entry drops its queue as evicted; the total queue is bounded too', (t) => {
  const { a, l3 } = adapterWith('10.0.0.1/24', { maxNeighbors: 2, maxPendingTotal: 5 });
  l3.inject(udp4('10.0.0.1', '10.0.0.11'));
  l3.inject(udp4('10.0.0.1', '10.0.0.11'));
  l3.inject(udp4('10.0.0.1', '10.0.0.12'));
  l3.inject(udp4('10.0.0.1', '10.0.0.13')); // evicts 10.0.0.11, the least recently updated
  let s = a.stats();
  t.is(s.arpEntries, 2);
  t.is(s.drops.evicted, 2);
  t.is(s.events.evictions, 1);
  t.is(a.neighborState('10.0.0.11'), null);
  for (let i = 0; i < 10; i++) l3.inject(udp4('10.0.0.1', '10.0.0.13'));
  s = a.stats();
  t.is(s.pendingPackets, 5, 'maxPendingTotal');
  t.is(s.drops['queue-full'], 7);
});
