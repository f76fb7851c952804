/**
 * DHCPServer alone, fed hand-made requests: reply format and addressing (RFC 2131 §4.1, §4.3),
 * the REQUEST states, NAKs, drops, offer holding, expiry and pruning, bounds, configuration.
 */

import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { buildDhcpFrame } from '../../src/dhcp/frame.js';
import { DHCPServer } from '../../src/dhcp/server.js';
import type { DHCPServerOptions } from '../../src/dhcp/server-config.js';
import { BROADCAST_MAC } from '../../src/wire/addr.js';
import { DhcpMessageType, newDhcpFields, type DhcpFields } from '../../src/wire/dhcp.js';
import { ConfigError, PktTypeError } from '../../src/errors.js';
import { countScavenges } from '../helpers/alloc.js';
import { MemoryStore, decodeFrame, ip, serverOptions, type DhcpFrame } from './helpers.js';

const MAC1 = 0x0200_0000_0101;
const MAC2 = 0x0200_0000_0102;
const SERVER_MAC = 0x02dd_cc00_0001;

class Rig {
  readonly clock = new ManualClock(0);
  readonly out: Uint8Array[] = [];
  readonly server: DHCPServer;
  constructor(extra: Partial<DHCPServerOptions> = {}) {
    this.server = new DHCPServer(serverOptions(this.clock, extra));
    this.server.setHandler((f) => this.out.push(f.slice()));
  }
  /** Sends a request from `mac` and returns the decoded reply, or null when there is none. */
  ask(mac: number, type: number, edit: (f: DhcpFields) => void = () => {}, frame: { ethDst?: number; ipDst?: number; ipSrc?: number } = {}): DhcpFrame | null {
    const f = newDhcpFields();
    f.messageType = type;
    f.xid = 0xabcd0000 + type;
    f.chaddr = mac;
    edit(f);
    const n = this.out.length;
    this.server.send(
      buildDhcpFrame(f, { ethSrc: mac, ethDst: frame.ethDst ?? BROADCAST_MAC, ipSrc: frame.ipSrc ?? f.ciaddr, ipDst: frame.ipDst ?? 0xffff_ffff, srcPort: 68, dstPort: 67, ident: 0 }),
    );
    return this.out.length > n ? decodeFrame(this.out.at(-1)!)! : null;
  }
  /** DISCOVER then REQUEST (selecting): the address bound. */
  lease(mac: number, edit: (f: DhcpFields) => void = () => {}): number {
    const offer = this.ask(mac, DhcpMessageType.Discover, edit)!;
    const ack = this.ask(mac, DhcpMessageType.Request, (f) => {
      edit(f);
      f.requestedIp = offer.dhcp.yiaddr;
      f.serverId = offer.dhcp.serverId;
    })!;
    return ack.dhcp.messageType === DhcpMessageType.Ack ? ack.dhcp.yiaddr : 0;
  }
}

test('OFFER: Table 3 fields and options, unicast to yiaddr and chaddr, checksums', (t) => {
  const rig = new Rig();
  const offer = rig.ask(MAC1, DhcpMessageType.Discover, (f) => (f.clientId = Uint8Array.of(1, 2, 0, 0, 0, 1, 1)))!;
  decodeFrame(rig.out[0]!, t);
  const d = offer.dhcp;
  t.is(d.op, 2);
  t.is(d.messageType, DhcpMessageType.Offer);
  t.is(d.xid, 0xabcd0001);
  t.is(d.yiaddr, ip('10.0.0.100'));
  t.is(d.siaddr, ip('10.0.0.1'));
  t.is(d.ciaddr, 0);
  t.is(d.chaddr, MAC1);
  t.is(d.serverId, ip('10.0.0.1'));
  t.is(d.leaseSecs, 3600);
  t.is(d.renewalSecs, 1800);
  t.is(d.rebindingSecs, 3150);
  t.is(d.subnetMask, 0xffff_ff00);
  t.deepEqual(d.routers, [ip('10.0.0.1')]);
  t.deepEqual(d.dnsServers, [ip('10.0.0.53'), ip('10.0.0.54')]);
  t.is(d.domainName, 'pktkit.test');
  t.deepEqual([...d.clientId], [1, 2, 0, 0, 0, 1, 1], 'option 61 echoed (RFC 6842)');
  t.is(offer.ethSrc, SERVER_MAC);
  t.is(offer.ethDst, MAC1);
  t.is(offer.ipSrc, ip('10.0.0.1'));
  t.is(offer.ipDst, ip('10.0.0.100'));
  t.is(offer.srcPort, 67);
  t.is(offer.dstPort, 68);
});

test('the BROADCAST flag gets a broadcast reply; a relay (giaddr) gets it on port 67', (t) => {
  const rig = new Rig();
  const b = rig.ask(MAC1, DhcpMessageType.Discover, (f) => (f.flags = 0x8000))!;
  t.is(b.ethDst, BROADCAST_MAC);
  t.is(b.ipDst, 0xffff_ffff);
  t.is(b.dhcp.flags, 0x8000);
  const relayMac = 0x0200_0000_0fff;
  const f = newDhcpFields();
  f.messageType = DhcpMessageType.Discover;
  f.chaddr = MAC2;
  f.giaddr = ip('10.0.0.254');
  f.hops = 1;
  rig.server.send(buildDhcpFrame(f, { ethSrc: relayMac, ethDst: SERVER_MAC, ipSrc: ip('10.0.0.254'), ipDst: ip('10.0.0.1'), srcPort: 67, dstPort: 67, ident: 0 }));
  const r = decodeFrame(rig.out.at(-1)!)!;
  t.is(r.ipDst, ip('10.0.0.254'));
  t.is(r.dstPort, 67);
  t.is(r.ethDst, relayMac);
  t.is(r.dhcp.giaddr, ip('10.0.0.254'));
});

test('SELECTING another server: our offer is withdrawn, nothing is sent', (t) => {
  const rig = new Rig();
  rig.ask(MAC1, DhcpMessageType.Discover);
  t.is(rig.server.stats().offers, 1);
  const r = rig.ask(MAC1, DhcpMessageType.Request, (f) => {
    f.serverId = ip('10.0.0.2');
    f.requestedIp = ip('10.0.0.100');
  });
  t.is(r, null);
  t.is(rig.server.stats().offers, 0);
  t.is(rig.server.stats().drops['other-server'], 1);
  t.is(rig.lease(MAC2), ip('10.0.0.100'), 'the address is free again');
});

test('NAKs: an address held by another client; renewing another address; INIT-REBOOT on the wrong subnet', (t) => {
  const rig = new Rig();
  t.is(rig.lease(MAC1), ip('10.0.0.100'));
  const taken = rig.ask(MAC2, DhcpMessageType.Request, (f) => {
    f.serverId = ip('10.0.0.1');
    f.requestedIp = ip('10.0.0.100');
  })!;
  t.is(taken.dhcp.messageType, DhcpMessageType.Nak);
  t.is(taken.dhcp.message, 'address not available');
  t.is(taken.dhcp.yiaddr, 0);
  t.is(taken.ethDst, BROADCAST_MAC);
  t.is(taken.ipDst, 0xffff_ffff);
  const renewOther = rig.ask(MAC1, DhcpMessageType.Request, (f) => (f.ciaddr = ip('10.0.0.105')), { ethDst: SERVER_MAC, ipDst: ip('10.0.0.1') })!;
  t.is(renewOther.dhcp.messageType, DhcpMessageType.Nak);
  const wrongNet = rig.ask(MAC2, DhcpMessageType.Request, (f) => (f.requestedIp = ip('192.168.1.5')))!;
  t.is(wrongNet.dhcp.messageType, DhcpMessageType.Nak);
  t.is(wrongNet.dhcp.message, 'wrong network');
  t.is(rig.server.stats().tx['nak'], 3);
});

test('INIT-REBOOT from a client without a binding: silent (RFC 2131 §4.3.2)', (t) => {
  const rig = new Rig();
  t.is(rig.ask(MAC1, DhcpMessageType.Request, (f) => (f.requestedIp = ip('10.0.0.105'))), null);
  t.is(rig.server.stats().drops['unknown-client'], 1);
  rig.lease(MAC1);
  const ack = rig.ask(MAC1, DhcpMessageType.Request, (f) => (f.requestedIp = ip('10.0.0.100')))!;
  t.is(ack.dhcp.messageType, DhcpMessageType.Ack, 'a known client keeps its address');
});

test('RENEWING: the ACK goes to ciaddr with ciaddr set, and the lease is extended', (t) => {
  const rig = new Rig();
  rig.lease(MAC1);
  rig.clock.advance(1000_000);
  const ack = rig.ask(MAC1, DhcpMessageType.Request, (f) => (f.ciaddr = ip('10.0.0.100')), { ethDst: SERVER_MAC, ipDst: ip('10.0.0.1') })!;
  t.is(ack.dhcp.messageType, DhcpMessageType.Ack);
  t.is(ack.dhcp.ciaddr, ip('10.0.0.100'));
  t.is(ack.ipDst, ip('10.0.0.100'));
  t.is(ack.ethDst, MAC1);
  t.is(rig.server.leases()[0]!.expires, 1_700_000_000_000 + 4600_000);
});

test('frames for another host, BOOTREPLYs and non-DHCP frames are dropped by reason', (t) => {
  const rig = new Rig();
  t.is(rig.ask(MAC1, DhcpMessageType.Discover, () => {}, { ethDst: 0x0200_0000_0999 }), null);
  t.is(rig.ask(MAC1, DhcpMessageType.Discover, () => {}, { ipDst: ip('10.0.0.9') }), null);
  t.is(rig.ask(MAC1, DhcpMessageType.Discover, (f) => (f.op = 2)), null);
  t.is(rig.ask(MAC1, DhcpMessageType.Offer), null);
  t.is(rig.ask(MAC1, 0), null);
  rig.server.send(new Uint8Array(10));
  const arpForOther = new Uint8Array(60).fill(0xff, 0, 6);
  arpForOther.set([8, 6, 0, 1, 8, 0, 6, 4, 0, 1], 12);
  rig.server.send(arpForOther);
  t.deepEqual(rig.server.stats().drops, { truncated: 1, 'not-for-us': 3, 'wrong-op': 1, 'unexpected-type': 2 });
  t.is(rig.out.length, 0);
});

test('DECLINE only from the holder takes the address out of the pool until declineHoldMs', (t) => {
  const rig = new Rig({ declineHoldMs: 60_000 });
  t.is(rig.lease(MAC1), ip('10.0.0.100'));
  rig.ask(MAC2, DhcpMessageType.Decline, (f) => (f.requestedIp = ip('10.0.0.100')));
  t.is(rig.server.stats().declined, 0, 'a stray DECLINE changes nothing');
  rig.ask(MAC1, DhcpMessageType.Decline, (f) => {
    f.requestedIp = ip('10.0.0.100');
    f.serverId = ip('10.0.0.1');
  });
  t.is(rig.server.stats().declined, 1);
  t.is(rig.server.stats().leases, 0);
  t.is(rig.lease(MAC2), ip('10.0.0.101'));
  rig.clock.advance(60_000);
  t.is(rig.server.stats().declined, 0, 'pruned after the hold');
  t.is(rig.lease(0x0200_0000_0103), ip('10.0.0.100'));
});

test('an offer holds its address for offerHoldMs, then the address is free', (t) => {
  const rig = new Rig({ offerHoldMs: 5000 });
  rig.ask(MAC1, DhcpMessageType.Discover);
  t.is(rig.ask(MAC2, DhcpMessageType.Discover)!.dhcp.yiaddr, ip('10.0.0.101'));
  rig.clock.advance(5000);
  t.is(rig.ask(0x0200_0000_0103, DhcpMessageType.Discover)!.dhcp.yiaddr, ip('10.0.0.100'));
});

test('leases expire and are pruned; the store follows', (t) => {
  const store = new MemoryStore();
  const rig = new Rig({ leaseSecs: 120, store, pruneIntervalMs: 60_000 });
  rig.lease(MAC1);
  t.is(JSON.parse(store.json).length, 1);
  rig.clock.advance(120_000);
  t.is(rig.server.stats().leases, 0);
  t.is(rig.server.stats().entries, 0, 'the prune at 120 s removed it');
  t.deepEqual(JSON.parse(store.json), []);
  rig.server.close();
  t.is(rig.clock.pending, 0);
});

test('the table is bounded by maxLeases; room comes back as entries expire', (t) => {
  const rig = new Rig({ maxLeases: 3, offerHoldMs: 10_000 });
  const macs = [1, 2, 3, 4, 5].map((i) => 0x0200_0000_0200 + i);
  const offers = macs.map((m) => rig.ask(m, DhcpMessageType.Discover)?.dhcp.yiaddr ?? 0);
  t.deepEqual(offers, [ip('10.0.0.100'), ip('10.0.0.101'), ip('10.0.0.102'), 0, 0]);
  t.is(rig.server.stats().drops['table-full'], 2);
  t.is(rig.server.stats().entries, 3);
  rig.clock.advance(10_000);
  t.is(rig.ask(macs[3]!, DhcpMessageType.Discover)!.dhcp.yiaddr, ip('10.0.0.100'));
});

test('a store with bad, expired and foreign records loads only the good ones', (t) => {
  const store = new MemoryStore();
  const epoch = 1_700_000_000_000;
  store.json = JSON.stringify([
    { clientId: '', mac: '02:00:00:00:01:01', addr: '10.0.0.105', expires: epoch + 100_000, hostname: 'good' },
    { clientId: '', mac: '02:00:00:00:01:02', addr: '10.0.0.106', expires: epoch - 1, hostname: 'expired' },
    { clientId: '', mac: '02:00:00:00:01:03', addr: '10.9.0.5', expires: epoch + 100_000, hostname: 'foreign' },
    { clientId: '', mac: 'nonsense', addr: '10.0.0.107', expires: epoch + 100_000, hostname: '' },
    { clientId: 'zz', mac: '02:00:00:00:01:04', addr: '10.0.0.105', expires: epoch + 100_000, hostname: 'duplicate address' },
  ]);
  const rig = new Rig({ store });
  t.deepEqual(rig.server.leases().map((l) => l.hostname), ['good']);
  // MAC1 is 02:00:00:00:01:01, the owner of the good record: its INIT-REBOOT is known.
  t.is(rig.ask(MAC1, DhcpMessageType.Request, (f) => (f.requestedIp = ip('10.0.0.105')))!.dhcp.messageType, DhcpMessageType.Ack);
});

test('configuration: strings or numbers, and inconsistent setups refused', (t) => {
  const clock = new ManualClock();
  const a = new DHCPServer({ serverIp: ip('10.1.0.1'), subnetMask: '255.255.0.0', rangeStart: '10.1.5.0', rangeEnd: ip('10.1.5.9'), clock });
  t.is(a.stats().poolSize, 10);
  a.close();
  t.throws(() => new DHCPServer({ serverIp: '10.0.0.1', rangeStart: '10.0.1.1', rangeEnd: '10.0.1.9', clock }), { instanceOf: ConfigError });
  t.throws(() => new DHCPServer({ serverIp: '10.0.0.1', subnetMask: '255.0.255.0', rangeStart: '10.0.0.2', rangeEnd: '10.0.0.9', clock }), { instanceOf: ConfigError });
  t.throws(() => new DHCPServer({ serverIp: '10.0.0.1', rangeStart: '10.0.0.9', rangeEnd: '10.0.0.2', clock }), { instanceOf: ConfigError });
  t.throws(() => new DHCPServer({ serverIp: '10.0.0.x', rangeStart: '10.0.0.2', rangeEnd: '10.0.0.9', clock }), { instanceOf: PktTypeError });
  t.throws(
    () => new DHCPServer({ serverIp: '10.0.0.1', rangeStart: '10.0.0.2', rangeEnd: '10.0.0.9', staticLeases: new Map([[MAC1, '10.0.1.1']]), clock }),
    { instanceOf: ConfigError },
  );
  t.is(clock.pending, 0);
});

test('close(): no timer left, later frames dropped as closed', (t) => {
  const rig = new Rig();
  rig.server.close();
  rig.server.close();
  t.is(rig.clock.pending, 0);
  t.is(rig.ask(MAC1, DhcpMessageType.Discover), null);
  t.is(rig.server.stats().drops['closed'], 1);
});

test('frames a hub floods to the server (broadcast ARP, other UDP, unicast for others) are dropped without allocating', (t) => {
  const server = new URL('../../src/dhcp/server.js', import.meta.url).href;
  const clock = new URL('../../src/core/clock.js', import.meta.url).href;
  const body = `
    import { DHCPServer } from ${JSON.stringify(server)};
    import { ManualClock } from ${JSON.stringify(clock)};
    const s = new DHCPServer({ serverIp: '10.0.0.1', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.109', clock: new ManualClock() });
    let out = 0;
    s.setHandler(() => out++);
    const arp = new Uint8Array(60).fill(0xff, 0, 6);
    arp.set([2, 0, 0, 0, 0, 9, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 9, 10, 0, 0, 9, 0, 0, 0, 0, 0, 0, 10, 0, 0, 77], 6);
    const udp = new Uint8Array(60).fill(0xff, 0, 6);
    udp.set([2, 0, 0, 0, 0, 9, 8, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 9, 255, 255, 255, 255, 0, 137, 0, 137, 0, 8, 0, 0], 6);
    const other = arp.slice();
    other.set([2, 0, 0, 0, 0, 8], 0);
    function batch(n) {
      for (let i = 0; i < n; i++) { s.send(arp); s.send(udp); s.send(other); }
    }
    for (let k = 0; k < 1000; k++) batch(1000);
    const st = s.stats();
    if (out !== 0 || st.dropped !== 3e6) throw new Error('unexpected: ' + JSON.stringify(st));
  `;
  const scavenges = countScavenges(body);
  t.log(`${scavenges} scavenges`);
  t.true(scavenges <= 3, `${scavenges} scavenges: the drop path allocates`);
});
