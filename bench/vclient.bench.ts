/**
 * vclient rows: the packet side of a Client (src/vclient/client-core.ts), one thread, no I/O.
 *
 *   echo reply      an ICMP echo request through Client.send: checks, demultiplexing, and the
 *                   reply built in the reused buffer and handed to a no-op handler;
 *   udp send        Client.sendUdp of 64 and 1400 bytes: IPv4 + UDP header and checksum;
 *   drop            a packet for another address (the cheapest path: the baseline).
 *
 * Not rows (asynchronous, see test/vclient for their behaviour): TCP bulk through two Clients,
 * flow set-up rate, DNS; bulk TCP and the flow set-up rate are bench/vclient-throughput.ts.
 */

import { Client } from '../src/vclient/client.js';
import { IpAddr, parseIPv4 } from '../src/wire/addr.js';
import { IpProto, emitIpv4, newIpv4Fields } from '../src/wire/ipv4.js';
import { Icmpv4Type, emitIcmpv4, newIcmpv4Fields } from '../src/wire/icmpv4.js';
import type { Row } from './harness.js';

const INNER = 1000;

function echoRequest(dst: string, dataLen: number): Uint8Array {
  const p = new Uint8Array(28 + dataLen);
  const icmp = newIcmpv4Fields();
  icmp.type = Icmpv4Type.Echo;
  icmp.ident = 1;
  icmp.seq = 1;
  icmp.payloadLen = dataLen;
  emitIcmpv4(icmp, p, 20);
  const ip = newIpv4Fields();
  ip.src = parseIPv4('10.0.0.9');
  ip.dst = parseIPv4(dst);
  ip.protocol = IpProto.ICMP;
  ip.payloadLen = 8 + dataLen;
  emitIpv4(ip, p, 0);
  return p;
}

export function vclientRows(): Row[] {
  const c = new Client({ addr: '10.0.0.1/24', ref: false });
  let sink = 0;
  c.setHandler((p) => {
    sink = (sink + p.length) | 0; // an int: a context slot holding a double boxes it per store
  });
  const echo = echoRequest('10.0.0.1', 56);
  const other = echoRequest('10.0.0.77', 56);
  const dst = IpAddr.parse('10.0.0.9');
  const d64 = new Uint8Array(64);
  const d1400 = new Uint8Array(1400);
  return [
    {
      name: 'vclient drop (not for us)',
      inner: INNER,
      fn: () => {
        for (let i = 0; i < INNER; i++) c.send(other);
        return sink;
      },
    },
    {
      name: 'vclient echo reply 84B',
      inner: INNER,
      baseline: 'vclient drop (not for us)',
      bytes: echo.length,
      fn: () => {
        for (let i = 0; i < INNER; i++) c.send(echo);
        return sink;
      },
    },
    {
      name: 'vclient udp send 64B',
      inner: INNER,
      bytes: 64,
      fn: () => {
        for (let i = 0; i < INNER; i++) c.sendUdp(50000, dst, 53, d64);
        return sink;
      },
    },
    {
      name: 'vclient udp send 1400B',
      inner: INNER,
      bytes: 1400,
      baseline: 'vclient udp send 64B',
      fn: () => {
        for (let i = 0; i < INNER; i++) c.sendUdp(50000, dst, 53, d1400);
        return sink;
      },
    },
  ];
}
