/**
 * Client and server together over an L2Hub, on a ManualClock: the whole life of leases.
 */

import test from 'ava';
import { DhcpClientState } from '../../src/dhcp/client.js';
import { buildDhcpFrame } from '../../src/dhcp/frame.js';
import { BROADCAST_MAC } from '../../src/wire/addr.js';
import { DhcpMessageType, newDhcpFields } from '../../src/wire/dhcp.js';
import { RecordingL2 } from '../helpers/devices.js';
import { MemoryStore, Net, decodeFrame, ip } from './helpers.js';

const MAC_A = 0x0200_0000_000a;
const MAC_B = 0x0200_0000_000b;
const MAC_C = 0x0200_0000_000c;
const SERVER_MAC = 0x02dd_cc00_0001;
const SEC = 1000;

test('a client gets a lease: DISCOVER, OFFER, REQUEST, ACK, ARP probe, bound', (t) => {
  const net = new Net();
  const server = net.addServer();
  const a = net.addClient(MAC_A, { hostname: 'host-a' });
  a.engine.start();
  t.is(a.engine.state, DhcpClientState.Probing);
  t.deepEqual(a.probes, [ip('10.0.0.100')]);
  net.clock.advance(SEC);
  t.is(a.engine.state, DhcpClientState.Bound);
  t.deepEqual(a.applied, [{ addr: ip('10.0.0.100'), prefixLen: 24, router: ip('10.0.0.1'), dns: [ip('10.0.0.53'), ip('10.0.0.54')] }]);
  const lease = a.engine.lease!;
  t.is(lease.serverId, ip('10.0.0.1'));
  t.is(lease.serverMac, SERVER_MAC);
  t.is(lease.domain, 'pktkit.test');
  t.is(lease.leaseSecs, 3600);
  t.is(lease.renewAt, 1800 * SEC);
  t.is(lease.rebindAt, 3150 * SEC);
  t.is(lease.expiresAt, 3600 * SEC);
  const [discover, request] = a.messages(t);
  t.is(discover!.dhcp.messageType, DhcpMessageType.Discover);
  t.is(discover!.ethDst, BROADCAST_MAC);
  t.is(discover!.ipSrc, 0);
  t.is(discover!.ipDst, 0xffff_ffff);
  t.is(discover!.dhcp.hostName, 'host-a');
  t.is(request!.dhcp.messageType, DhcpMessageType.Request);
  t.is(request!.dhcp.xid, discover!.dhcp.xid);
  t.is(request!.dhcp.requestedIp, ip('10.0.0.100'));
  t.is(request!.dhcp.serverId, ip('10.0.0.1'));
  t.is(request!.dhcp.ciaddr, 0);
  const st = server.stats();
  t.is(st.leases, 1);
  t.deepEqual(st.rx, { discover: 1, request: 1 });
  t.deepEqual(st.tx, { offer: 1, ack: 1 });
  t.deepEqual(server.leases().map((l) => [l.addr, l.hostname]), [['10.0.0.100', 'host-a']]);
  net.close();
  t.is(net.clock.pending, 0, 'no timer left after stop and close');
});

test('two clients get distinct addresses', (t) => {
  const net = new Net();
  net.addServer();
  const a = net.addClient(MAC_A);
  const b = net.addClient(MAC_B);
  a.engine.start();
  b.engine.start();
  net.clock.advance(2 * SEC);
  t.is(a.engine.lease!.addr, ip('10.0.0.100'));
  t.is(b.engine.lease!.addr, ip('10.0.0.101'));
  net.close();
});

test('renew at T1: unicast REQUEST to the server with ciaddr and no 50/54; the lease restarts', (t) => {
  const net = new Net();
  const server = net.addServer();
  const a = net.addClient(MAC_A);
  a.engine.start();
  net.clock.advance(SEC);
  const before = a.sent.length;
  net.clock.set(1800 * SEC - 1);
  t.is(a.sent.length, before, 'nothing before T1');
  net.clock.set(1800 * SEC);
  t.is(a.engine.state, DhcpClientState.Bound);
  const renew = decodeFrame(a.sent[before]!, t)!;
  t.is(renew.dhcp.messageType, DhcpMessageType.Request);
  t.is(renew.ethDst, SERVER_MAC);
  t.is(renew.ipSrc, ip('10.0.0.100'));
  t.is(renew.ipDst, ip('10.0.0.1'));
  t.is(renew.dhcp.ciaddr, ip('10.0.0.100'));
  t.is(renew.dhcp.requestedIp, 0);
  t.is(renew.dhcp.serverId, 0);
  t.is(a.engine.lease!.renewAt, 3600 * SEC);
  t.is(a.engine.lease!.expiresAt, 5400 * SEC);
  t.is(a.applied.length, 1, 'the same lease is not applied again');
  t.is(a.engine.stats().renewed, 1);
  t.is(server.stats().tx['ack'], 2);
  net.close();
});

test('rebind at T2: the first server is gone, another one on the segment ACKs the broadcast', (t) => {
  const net = new Net();
  const s1 = net.addServer();
  const a = net.addClient(MAC_A);
  a.engine.start();
  net.clock.advance(SEC);
  net.unplug(s1);
  const s2 = net.addServer({ serverIp: '10.0.0.2', mac: '02:dd:cc:00:00:02' });
  net.clock.set(3150 * SEC - 1);
  t.is(a.engine.state, DhcpClientState.Renewing);
  const renews = a.messages(t).slice(2);
  t.true(renews.length >= 2, 'renewal retransmitted');
  t.true(renews.every((m) => m.ethDst === SERVER_MAC && m.ipDst === ip('10.0.0.1')));
  t.is(s2.stats().drops['not-for-us'], renews.length, 'the unicast renewals reached s2 by flooding and were not for it');
  net.clock.set(3150 * SEC);
  t.is(a.engine.state, DhcpClientState.Bound);
  const rebind = a.messages(t).at(-1)!;
  t.is(rebind.ethDst, BROADCAST_MAC);
  t.is(rebind.ipDst, 0xffff_ffff);
  t.is(rebind.ipSrc, ip('10.0.0.100'));
  t.is(rebind.dhcp.ciaddr, ip('10.0.0.100'));
  t.is(a.engine.lease!.serverId, ip('10.0.0.2'));
  t.is(a.engine.lease!.addr, ip('10.0.0.100'));
  t.is(a.engine.stats().rebound, 1);
  t.is(a.applied.length, 1);
  t.is(s2.stats().leases, 1);
  net.close();
  s1.close();
});

test('expiry: no server answers; at the lease end the address is withdrawn and DISCOVER starts again', (t) => {
  const net = new Net();
  const s1 = net.addServer();
  const a = net.addClient(MAC_A);
  const leases: (number | null)[] = [];
  a.engine.onLeaseChange((l) => leases.push(l === null ? null : l.addr));
  a.engine.start();
  net.clock.advance(SEC);
  net.unplug(s1);
  net.clock.set(3600 * SEC - 1);
  t.is(a.engine.state, DhcpClientState.Rebinding);
  t.is(a.applied.length, 1);
  net.clock.set(3600 * SEC);
  t.is(a.engine.state, DhcpClientState.Selecting);
  t.deepEqual(a.applied.at(-1), null);
  t.deepEqual(leases, [ip('10.0.0.100'), null]);
  t.is(a.engine.stats().expired, 1);
  const discover = a.messages(t).at(-1)!;
  t.is(discover.dhcp.messageType, DhcpMessageType.Discover);
  t.is(discover.dhcp.requestedIp, ip('10.0.0.100'), 'asks for its last address');
  net.close();
  s1.close();
});

test('NAK: an INIT-REBOOT for an address of another subnet is NAKed, the client DISCOVERs after the delay', (t) => {
  const net = new Net();
  const server = net.addServer();
  const a = net.addClient(MAC_A, { requestedAddr: '10.9.0.5', nakDelayMs: 2000 });
  a.engine.start();
  t.is(a.engine.state, DhcpClientState.Init);
  t.is(a.engine.stats().naks, 1);
  t.is(server.stats().tx['nak'], 1);
  net.clock.advance(1999);
  t.is(a.sent.length, 1);
  net.clock.advance(1 + SEC);
  t.is(a.engine.state, DhcpClientState.Bound);
  t.is(a.engine.lease!.addr, ip('10.0.0.100'));
  net.close();
});

test('DECLINE: the probe finds the address in use; the server takes it out of the pool; 10 s later another one', (t) => {
  const net = new Net();
  const server = net.addServer();
  const a = net.addClient(MAC_A);
  a.inUse = (addr) => addr === ip('10.0.0.100');
  a.engine.start();
  net.clock.advance(SEC);
  t.is(a.engine.state, DhcpClientState.Init);
  const decline = a.messages(t).at(-1)!;
  t.is(decline.dhcp.messageType, DhcpMessageType.Decline);
  t.is(decline.dhcp.requestedIp, ip('10.0.0.100'));
  t.is(decline.dhcp.serverId, ip('10.0.0.1'));
  t.is(server.stats().declined, 1);
  t.is(server.stats().leases, 0);
  t.deepEqual(a.applied, []);
  net.clock.advance(10 * SEC - 1);
  t.is(a.engine.state, DhcpClientState.Init, 'waits ten seconds');
  net.clock.advance(1 + SEC);
  t.is(a.engine.state, DhcpClientState.Bound);
  t.is(a.engine.lease!.addr, ip('10.0.0.101'));
  t.is(a.engine.stats().declines, 1);
  net.close();
});

test('pool exhaustion: the third client gets no offer, and the server counts it', (t) => {
  const net = new Net();
  const server = net.addServer({ rangeEnd: '10.0.0.101' });
  const hosts = [MAC_A, MAC_B, MAC_C].map((m) => net.addClient(m));
  for (const h of hosts) h.engine.start();
  net.clock.advance(30 * SEC);
  t.deepEqual(
    hosts.map((h) => h.engine.lease?.addr ?? 0),
    [ip('10.0.0.100'), ip('10.0.0.101'), 0],
  );
  t.is(hosts[2]!.engine.state, DhcpClientState.Selecting);
  t.true(server.stats().drops['pool-exhausted']! >= 3, 'each retransmitted DISCOVER counted');
  t.true(hosts[2]!.engine.stats().retransmits >= 2);
  net.close();
});

test('static leases: the reserved MAC gets its address; another MAC never does, even asking for it', (t) => {
  const net = new Net();
  net.addServer({ staticLeases: { '02:00:00:00:00:0c': '10.0.0.20' } });
  const c = net.addClient(MAC_C);
  const b = net.addClient(MAC_B, { requestedAddr: '10.0.0.20' });
  b.engine.start();
  net.clock.advance(2 * 60 * SEC);
  t.is(b.engine.lease!.addr, ip('10.0.0.100'), 'INIT-REBOOT for a reserved address is refused');
  c.engine.start();
  net.clock.advance(SEC);
  t.is(c.engine.lease!.addr, ip('10.0.0.20'));
  net.close();
});

test('restart with the store: leases survive, new clients get other addresses, renewals are ACKed', (t) => {
  const net = new Net();
  const store = new MemoryStore();
  const s1 = net.addServer({ store });
  const a = net.addClient(MAC_A);
  const b = net.addClient(MAC_B);
  a.engine.start();
  b.engine.start();
  net.clock.advance(2 * SEC);
  t.is(JSON.parse(store.json).length, 2);
  s1.close();
  net.unplug(s1);
  const s2 = net.addServer({ store });
  t.deepEqual(s2.leases().map((l) => l.addr).sort(), ['10.0.0.100', '10.0.0.101']);
  t.is(s2.leases()[0]!.expires, 1_700_000_000_000 + 3600 * SEC, 'expiry in Unix ms');
  const c = net.addClient(MAC_C);
  c.engine.start();
  net.clock.advance(SEC);
  t.is(c.engine.lease!.addr, ip('10.0.0.102'));
  net.clock.set(1800 * SEC);
  t.is(a.engine.state, DhcpClientState.Bound);
  t.is(a.engine.stats().renewed, 1);
  t.is(s2.stats().tx['nak'] ?? 0, 0);
  net.close();
});

test('INFORM: an ACK with the configuration and no address or lease, unicast to ciaddr', (t) => {
  const net = new Net();
  net.addServer();
  const raw = new RecordingL2(MAC_B);
  net.hub.connectL2(raw);
  const f = newDhcpFields();
  f.messageType = DhcpMessageType.Inform;
  f.xid = 0x1234;
  f.chaddr = MAC_B;
  f.ciaddr = ip('10.0.0.7');
  raw.inject(buildDhcpFrame(f, { ethSrc: MAC_B, ethDst: BROADCAST_MAC, ipSrc: ip('10.0.0.7'), ipDst: 0xffff_ffff, srcPort: 68, dstPort: 67, ident: 1 }));
  t.is(raw.got.length, 1);
  const ack = decodeFrame(raw.got[0]!, t)!;
  t.is(ack.dhcp.messageType, DhcpMessageType.Ack);
  t.is(ack.dhcp.yiaddr, 0);
  t.is(ack.dhcp.leaseSecs, -1);
  t.is(ack.dhcp.subnetMask, 0xffff_ff00);
  t.deepEqual(ack.dhcp.routers, [ip('10.0.0.1')]);
  t.is(ack.ipDst, ip('10.0.0.7'));
  t.is(ack.ethDst, MAC_B);
  t.is(ack.dstPort, 68);
  net.close();
});

test('RELEASE on stop frees the address for the next client', (t) => {
  const net = new Net();
  const server = net.addServer();
  const a = net.addClient(MAC_A);
  a.engine.start();
  net.clock.advance(SEC);
  a.engine.stop();
  const release = a.messages(t).at(-1)!;
  t.is(release.dhcp.messageType, DhcpMessageType.Release);
  t.is(release.dhcp.ciaddr, ip('10.0.0.100'));
  t.is(release.ethDst, SERVER_MAC);
  t.is(a.applied.at(-1), null);
  t.is(server.stats().leases, 0);
  const b = net.addClient(MAC_B);
  b.engine.start();
  net.clock.advance(SEC);
  t.is(b.engine.lease!.addr, ip('10.0.0.100'));
  net.close();
});

test('option 61: the lease follows the client identifier, not the MAC', (t) => {
  const net = new Net();
  const server = net.addServer();
  const a = net.addClient(MAC_A, { clientId: 'host-a', releaseOnStop: false });
  a.engine.start();
  net.clock.advance(SEC);
  t.is(a.engine.lease!.addr, ip('10.0.0.100'));
  t.deepEqual(server.leases()[0]!.clientId, '00' + Buffer.from('host-a').toString('hex'));
  a.engine.stop();
  const plain = net.addClient(MAC_A);
  plain.engine.start();
  net.clock.advance(SEC);
  t.is(plain.engine.lease!.addr, ip('10.0.0.101'), 'same MAC without the id is another client');
  const moved = net.addClient(MAC_B, { clientId: 'host-a' });
  moved.engine.start();
  net.clock.advance(SEC);
  t.is(moved.engine.lease!.addr, ip('10.0.0.100'), 'same id on another MAC keeps its address');
  net.close();
});

test('the server answers ARP for its address, so that renewing clients can reach it', (t) => {
  const net = new Net();
  const server = net.addServer();
  const raw = new RecordingL2(MAC_B);
  net.hub.connectL2(raw);
  const req = new Uint8Array(60);
  req.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0b, 0x08, 0x06]);
  req.set([0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x0b, 10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1], 14);
  raw.inject(req);
  t.is(raw.got.length, 1);
  const rep = raw.got[0]!;
  t.deepEqual([...rep.subarray(0, 14)], [0x02, 0, 0, 0, 0, 0x0b, 0x02, 0xdd, 0xcc, 0, 0, 1, 0x08, 0x06]);
  t.deepEqual([...rep.subarray(20, 42)], [0, 2, 0x02, 0xdd, 0xcc, 0, 0, 1, 10, 0, 0, 1, 0x02, 0, 0, 0, 0, 0x0b, 10, 0, 0, 100]);
  t.is(server.stats().arpReplies, 1);
  net.close();
});
