/**
 * The engines against frames real programs sent (test/vectors/dhcp-frames.ts): our server
 * answers udhcpc's and dhclient's own frames; our client takes dnsmasq's OFFER, ACK and NAK.
 */

import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { DhcpClientState } from '../../src/dhcp/client.js';
import { DHCPServer } from '../../src/dhcp/server.js';
import { BROADCAST_MAC } from '../../src/wire/addr.js';
import { DhcpMessageType } from '../../src/wire/dhcp.js';
import { fromHex } from '../helpers/bytes.js';
import * as V from '../vectors/dhcp-frames.js';
import { TestHost, decodeFrame, ip } from './helpers.js';

const CLIENT_MAC = 0x0200_0098_0702;
const SERVER_MAC = 0x0200_0098_0701;
const SERVER = ip('10.98.7.1');
const ADDR = ip('10.98.7.67');

function ourServer(clock = new ManualClock(0)): { server: DHCPServer; out: Uint8Array[] } {
  const server = new DHCPServer({
    serverIp: '10.98.7.1',
    subnetMask: '255.255.255.0',
    rangeStart: '10.98.7.50',
    rangeEnd: '10.98.7.99',
    router: '10.98.7.1',
    dns: ['10.98.7.1'],
    domain: 'pktkit.test',
    mac: SERVER_MAC,
    clock,
  });
  const out: Uint8Array[] = [];
  server.setHandler((f) => out.push(f.slice()));
  return { server, out };
}

/** A random source that returns `queue` first (to reproduce captured xids), then 0.5 (no jitter). */
function scripted(...queue: number[]): () => number {
  return () => queue.shift() ?? 0.5;
}
const xidOf = (hex: string): number => decodeFrame(fromHex(hex))!.dhcp.xid;
const asRandom = (xid: number): number => xid / 0x1_0000_0000;

test('every captured frame decodes with valid IPv4 and UDP checksums', (t) => {
  for (const [name, hex] of Object.entries(V)) {
    const f = decodeFrame(fromHex(hex), t);
    t.truthy(f, name);
    t.is(f!.dhcp.chaddr, CLIENT_MAC, name);
  }
});

test('our server answers udhcpc: DISCOVER, REQUEST, renewal, RELEASE as udhcpc sent them', (t) => {
  const { server, out } = ourServer();
  server.send(fromHex(V.UDHCPC_DISCOVER));
  const offer = decodeFrame(out[0]!, t)!;
  const theirs = decodeFrame(fromHex(V.DNSMASQ_OFFER))!;
  t.is(offer.dhcp.messageType, DhcpMessageType.Offer);
  t.is(offer.dhcp.xid, theirs.dhcp.xid);
  t.is(offer.dhcp.yiaddr, ip('10.98.7.50'));
  t.deepEqual([...offer.dhcp.clientId], [1, 2, 0, 0, 0x98, 7, 2], 'udhcpc sends option 61; echoed');
  // Addressed the way dnsmasq addressed its own OFFER: unicast to chaddr and yiaddr, from 67 to 68.
  t.is(offer.ethDst, theirs.ethDst);
  t.is(offer.srcPort, theirs.srcPort);
  t.is(offer.dstPort, theirs.dstPort);
  // udhcpc's REQUEST selects 10.98.7.67 (dnsmasq's offer) from server 10.98.7.1: free here, so ACKed.
  server.send(fromHex(V.UDHCPC_REQUEST));
  const ack = decodeFrame(out[1]!, t)!;
  t.is(ack.dhcp.messageType, DhcpMessageType.Ack);
  t.is(ack.dhcp.yiaddr, ADDR);
  t.is(ack.ipDst, ADDR);
  t.deepEqual(server.leases().map((l) => [l.addr, l.hostname]), [['10.98.7.67', 'pktkit-udhcpc']]);
  server.send(fromHex(V.UDHCPC_RENEW_REQUEST));
  const renew = decodeFrame(out[2]!, t)!;
  t.is(renew.dhcp.messageType, DhcpMessageType.Ack);
  t.is(renew.dhcp.ciaddr, ADDR);
  t.is(renew.ipDst, ADDR);
  t.is(renew.ethDst, CLIENT_MAC);
  server.send(fromHex(V.UDHCPC_RELEASE));
  t.is(out.length, 3, 'no reply to a RELEASE');
  t.deepEqual(server.leases(), []);
  t.deepEqual(server.stats().rx, { discover: 1, request: 2, release: 1 });
  server.close();
});

test('our server NAKs dhclient\'s INIT-REBOOT for another network, as dnsmasq did', (t) => {
  const { server, out } = ourServer();
  server.send(fromHex(V.DHCLIENT_INIT_REBOOT_REQUEST));
  const ours = decodeFrame(out[0]!, t)!;
  const theirs = decodeFrame(fromHex(V.DNSMASQ_NAK))!;
  t.is(ours.dhcp.messageType, DhcpMessageType.Nak);
  t.is(ours.dhcp.xid, theirs.dhcp.xid);
  t.is(ours.dhcp.yiaddr, 0);
  t.is(ours.dhcp.serverId, theirs.dhcp.serverId);
  t.is(ours.dhcp.message, theirs.dhcp.message);
  t.is(ours.ethDst, BROADCAST_MAC);
  t.is(ours.ipDst, theirs.ipDst);
  server.send(fromHex(V.DHCLIENT_DISCOVER));
  t.is(decodeFrame(out[1]!, t)!.dhcp.messageType, DhcpMessageType.Offer);
  server.send(fromHex(V.DHCLIENT_REQUEST));
  t.is(decodeFrame(out[2]!, t)!.dhcp.yiaddr, ADDR);
  server.close();
});

test('our client takes dnsmasq\'s OFFER and ACK, then renews with it at T1 as udhcpc did', (t) => {
  const clock = new ManualClock(0);
  const host = new TestHost(CLIENT_MAC, clock);
  const xid1 = xidOf(V.UDHCPC_DISCOVER);
  const xid2 = xidOf(V.UDHCPC_RENEW_REQUEST);
  // Random calls: the DISCOVER's xid, its jitter, the REQUEST's jitter, the renewal's xid.
  (host as { random: () => number }).random = scripted(asRandom(xid1), 0.5, 0.5, asRandom(xid2));
  host.engine.start();
  t.is(host.messages(t)[0]!.dhcp.xid, xid1);
  t.true(host.engine.handleFrame(fromHex(V.DNSMASQ_OFFER)));
  const req = host.messages(t)[1]!;
  const theirReq = decodeFrame(fromHex(V.UDHCPC_REQUEST))!;
  t.is(req.dhcp.requestedIp, theirReq.dhcp.requestedIp);
  t.is(req.dhcp.serverId, theirReq.dhcp.serverId);
  t.true(host.engine.handleFrame(fromHex(V.DNSMASQ_ACK)));
  clock.advance(host.probeDelayMs);
  t.is(host.engine.state, DhcpClientState.Bound);
  const lease = host.engine.lease!;
  t.deepEqual(host.applied, [{ addr: ADDR, prefixLen: 24, router: SERVER, dns: [SERVER] }]);
  t.is(lease.domain, 'pktkit.test');
  t.is(lease.serverMac, SERVER_MAC);
  t.deepEqual([lease.leaseSecs, lease.t1Secs, lease.t2Secs], [3600, 1800, 3150]);
  clock.set(1800_000);
  const renew = host.messages(t).at(-1)!;
  const theirs = decodeFrame(fromHex(V.UDHCPC_RENEW_REQUEST))!;
  for (const k of ['ethDst', 'ethSrc', 'ipSrc', 'ipDst', 'srcPort', 'dstPort'] as const) t.is(renew[k], theirs[k], k);
  t.is(renew.dhcp.xid, theirs.dhcp.xid);
  t.is(renew.dhcp.ciaddr, theirs.dhcp.ciaddr);
  t.is(renew.dhcp.requestedIp, 0);
  t.is(renew.dhcp.serverId, 0);
  t.true(host.engine.handleFrame(fromHex(V.DNSMASQ_RENEW_ACK)));
  t.is(host.engine.state, DhcpClientState.Bound);
  t.is(host.engine.stats().renewed, 1);
  t.is(host.engine.lease!.expiresAt, 1800_000 + 3600_000);
  host.engine.stop();
  const rel = host.messages(t).at(-1)!;
  const theirRel = decodeFrame(fromHex(V.UDHCPC_RELEASE))!;
  t.is(rel.dhcp.messageType, DhcpMessageType.Release);
  for (const k of ['ethDst', 'ipSrc', 'ipDst'] as const) t.is(rel[k], theirRel[k], k);
  t.is(rel.dhcp.ciaddr, theirRel.dhcp.ciaddr);
  t.is(rel.dhcp.serverId, theirRel.dhcp.serverId);
});

test('our client in INIT-REBOOT takes dnsmasq\'s NAK and starts over', (t) => {
  const clock = new ManualClock(0);
  const host = new TestHost(CLIENT_MAC, clock, { requestedAddr: '10.96.0.77' });
  (host as { random: () => number }).random = scripted(asRandom(xidOf(V.DHCLIENT_INIT_REBOOT_REQUEST)));
  host.engine.start();
  const req = host.messages(t)[0]!;
  t.is(req.dhcp.requestedIp, ip('10.96.0.77'));
  t.is(req.dhcp.serverId, 0);
  t.is(req.dhcp.ciaddr, 0);
  t.true(host.engine.handleFrame(fromHex(V.DNSMASQ_NAK)));
  t.is(host.engine.state, DhcpClientState.Init);
  t.is(host.engine.stats().naks, 1);
  t.false(host.engine.handleFrame(fromHex(V.DNSMASQ_OFFER_DHCLIENT)), 'an OFFER for dhclient\'s xid is not ours');
  t.is(host.engine.stats().drops['wrong-xid'], 1);
});
