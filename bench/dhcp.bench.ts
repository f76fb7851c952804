/**
 * DHCP rows. DHCP itself is a few messages per lease, so what matters on a busy segment is the
 * price the DHCPServer puts on everything else a hub floods to it (broadcast ARP, multicast,
 * unknown unicast): that drop path must be cheap and allocate nothing. The DISCOVER -> OFFER and
 * the full DORA rows show what one lease costs (they allocate by design: a frame per reply).
 */

import { ManualClock } from '../src/core/clock.js';
import { buildDhcpFrame } from '../src/dhcp/frame.js';
import { DHCPServer } from '../src/dhcp/server.js';
import { BROADCAST_MAC } from '../src/wire/addr.js';
import { be32 } from '../src/wire/bytes.js';
import { DhcpMessageType, newDhcpFields } from '../src/wire/dhcp.js';
import type { Row } from './harness.js';

const INNER = 1000;
/** yiaddr in a frame: Ethernet 14 + IPv4 20 + UDP 8 + 16 into the DHCP message. */
const YIADDR_IN_FRAME = 14 + 20 + 8 + 16;

function request(mac: number, type: number, requestedIp = 0, serverId = 0): Uint8Array {
  const f = newDhcpFields();
  f.messageType = type;
  f.xid = mac >>> 0;
  f.chaddr = mac;
  f.requestedIp = requestedIp;
  f.serverId = serverId;
  return buildDhcpFrame(f, { ethSrc: mac, ethDst: BROADCAST_MAC, ipSrc: 0, ipDst: 0xffff_ffff, srcPort: 68, dstPort: 67, ident: 0 });
}

export function dhcpRows(): Row[] {
  const clock = new ManualClock(0);
  const server = new DHCPServer({
    serverIp: '10.0.0.1',
    prefixLen: 16,
    rangeStart: '10.0.1.0',
    rangeEnd: '10.0.200.255',
    router: '10.0.0.1',
    dns: ['10.0.0.1'],
    clock,
    maxLeases: 1 << 16,
    offerHoldMs: 0,
  });
  let sink = 0;
  let lastYiaddr = 0;
  server.setHandler((f) => {
    sink = (sink + f.length) | 0;
    lastYiaddr = be32(f, YIADDR_IN_FRAME);
  });

  // A broadcast ARP request for someone else, and a broadcast UDP datagram to another port.
  const arp = new Uint8Array(60).fill(0xff, 0, 6);
  arp.set([0x02, 0, 0, 0, 0, 0x09, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1], 6);
  arp.set([10, 0, 0, 9], 28);
  arp.set([10, 0, 0, 77], 38);
  const otherUdp = request(0x0200_0000_0009, DhcpMessageType.Discover);
  otherUdp[14 + 20 + 3] = 137; // dst port 137 (NetBIOS): checksums are not checked before the port

  const drops = (): number => {
    for (let i = 0; i < INNER; i++) {
      server.send(arp);
      server.send(otherUdp);
    }
    return sink;
  };

  const discovers = Array.from({ length: 256 }, (_, i) => request(0x0200_0001_0000 + i, DhcpMessageType.Discover));
  let d = 0;
  const discover = (): number => {
    for (let i = 0; i < INNER; i++) server.send(discovers[d++ & 255]!);
    return sink;
  };

  let m = 0;
  const dora = (): number => {
    for (let i = 0; i < INNER / 10; i++) {
      const mac = 0x0200_0002_0000 + (m++ % 4096);
      server.send(request(mac, DhcpMessageType.Discover));
      server.send(request(mac, DhcpMessageType.Request, lastYiaddr, 0x0a00_0001));
    }
    return sink;
  };

  return [
    { name: 'dhcp server: drop non-DHCP broadcast (ARP + UDP)', fn: drops, inner: 2 * INNER },
    { name: 'dhcp server: DISCOVER -> OFFER', fn: discover, inner: INNER, allocates: true },
    { name: 'dhcp server: DISCOVER + REQUEST (SELECTING)', fn: dora, inner: INNER / 10, allocates: true },
  ];
}
