/**
 * L2Adapter rows of the Go pktkit README's performance table, with the inputs of its
 * benchmark_test.go: L2AdapterIncoming (a 1514-byte frame to the adapter's MAC, delivered to a
 * PipeL3), L2AdapterOutgoing (a 1500-byte packet from the PipeL3 to a resolved neighbour, framed
 * to a sink handler), ARPLookup and NDPLookup (one entry, looked up again and again). IPv6
 * variants, and lookups in a full 4096-entry cache, are ours. Baselines: the 1500-byte copy that
 * framing cannot avoid, and a Map keyed by the address text (what the design rules out).
 */

import { ManualClock } from '../src/core/clock.js';
import { PipeL3 } from '../src/core/pipe.js';
import { L2Adapter } from '../src/l2/adapter.js';
import { NeighborTable, NudState, type NeighborProtocol } from '../src/l2/neighbor-table.js';
import { L2Counters } from '../src/l2/stats.js';
import { formatIPv6, parseIPv6 } from '../src/wire/addr.js';
import { be32i, setBe16, setBe32, writeMac } from '../src/wire/bytes.js';
import { EtherType } from '../src/wire/ethernet.js';
import type { Row } from './harness.js';

const INNER = 1000;
const MAC = 0x02aa_bbcc_ddee;
const PEER = 0x0200_0000_0002;

function frame(dst: number, src: number, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  writeMac(f, 0, dst);
  writeMac(f, 6, src);
  setBe16(f, 12, type);
  f.set(payload, 14);
  return f;
}

function ipv4(src: number, dst: number): Uint8Array {
  const p = new Uint8Array(1500);
  p[0] = 0x45;
  setBe16(p, 2, 1500);
  p[8] = 64;
  p[9] = 6;
  setBe32(p, 12, src);
  setBe32(p, 16, dst);
  setBe16(p, 20, 12345);
  setBe16(p, 22, 80);
  p[32] = 0x50;
  return p;
}

function ipv6(src: string, dst: string): Uint8Array {
  const p = new Uint8Array(1500);
  p[0] = 0x60;
  setBe16(p, 4, 1460);
  p[6] = 6;
  p[7] = 64;
  p.set(parseIPv6(src), 8);
  p.set(parseIPv6(dst), 24);
  p[52] = 0x50;
  return p;
}

/** An NA (S, O, TLLA) for `target` from PEER, checksum filled: resolves it in the adapter. */
function naFrame(target: string, dst: string): Uint8Array {
  const p = new Uint8Array(40 + 32);
  p[0] = 0x60;
  setBe16(p, 4, 32);
  p[6] = 58;
  p[7] = 255;
  p.set(parseIPv6(target), 8);
  p.set(parseIPv6(dst), 24);
  p[40] = 136;
  p[44] = 0x60;
  p.set(parseIPv6(target), 48);
  p[64] = 2;
  p[65] = 1;
  writeMac(p, 66, PEER);
  let s = 58 + 32;
  for (let i = 8; i < 72; i += 2) s += (p[i]! << 8) | p[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  setBe16(p, 42, ~s & 0xffff);
  return frame(MAC, PEER, EtherType.IPv6, p);
}

function arpReply(): Uint8Array {
  const a = new Uint8Array(28);
  a.set([0, 1, 8, 0, 6, 4, 0, 2]);
  writeMac(a, 8, PEER);
  setBe32(a, 14, 0x0a000002);
  writeMac(a, 18, MAC);
  setBe32(a, 24, 0x0a000001);
  return frame(MAC, PEER, EtherType.ARP, a);
}

const noProto: NeighborProtocol = { solicit() {}, transmit() {} };

function table(n: number, v6: boolean): NeighborTable {
  const t = new NeighborTable(
    new ManualClock(),
    { maxEntries: 4096, maxPendingPerEntry: 16, maxPendingTotal: 256, reachableMs: 30_000, retransMs: 1000, delayFirstProbeMs: 5000, staleMs: 60_000, maxMulticastSolicit: 3, maxUnicastSolicit: 3 },
    new L2Counters(),
    noProto,
    12345,
  );
  for (let i = 0; i < n; i++) {
    if (v6) t.add6(0x20010db8 | 0, 0, 0, i + 1, NudState.Reachable, 0x0200, i);
    else t.add4(0x0a000001 + i, NudState.Reachable, 0x0200, i);
  }
  return t;
}

export function l2Rows(): Row[] {
  let sink = 0;
  const clock = new ManualClock();

  // Incoming: the Go benchmark's frame (IPv4/TCP, 1500 B) to the adapter's MAC.
  const inL3 = new PipeL3('10.0.0.1/24');
  const inAdapter = new L2Adapter(inL3, { mac: MAC, clock, random: () => 0.5 });
  inAdapter.setHandler(() => {});
  const in4 = frame(MAC, PEER, EtherType.IPv4, ipv4(0x0a000002, 0x0a000001));
  inAdapter.addAddr('2001:db8::1/64');
  const in6 = frame(MAC, PEER, EtherType.IPv6, ipv6('2001:db8::2', '2001:db8::1'));

  // Outgoing: to a resolved neighbour 10.0.0.2 / 2001:db8::2 at PEER, into a sink handler.
  const outL3 = new PipeL3('10.0.0.1/24');
  const out = new L2Adapter(outL3, { mac: MAC, clock, random: () => 0.5 });
  out.addAddr('2001:db8::1/64');
  const sent = new Float64Array(1);
  out.setHandler((f) => {
    sent[0] = sent[0]! + f.length;
  });
  const out4 = ipv4(0x0a000001, 0x0a000002);
  const out6 = ipv6('2001:db8::1', '2001:db8::2');
  outL3.inject(out4);
  out.send(arpReply());
  outL3.inject(out6);
  out.send(naFrame('2001:db8::2', '2001:db8::1'));
  if (out.neighborState('10.0.0.2') !== 'REACHABLE' || out.neighborState('2001:db8::2') !== 'REACHABLE') throw new Error('l2 bench: neighbours not resolved');

  const copyBuf = new Uint8Array(1514);
  const arp1 = table(1, false);
  const arpFull = table(4096, false);
  const ndp1 = table(1, true);
  const ndpFull = table(4096, true);
  const v6addr = parseIPv6('2001:db8::1');
  const w0 = be32i(v6addr, 0);
  const byText = new Map<string, number>([[formatIPv6(v6addr), PEER]]);

  return [
    { name: 'L2Adapter incoming (IPv4, 1514 B)', fn: () => { for (let i = 0; i < INNER; i++) inAdapter.send(in4); }, inner: INNER, bytes: in4.length, goNs: 33 },
    { name: 'L2Adapter incoming (IPv6, 1514 B)', fn: () => { for (let i = 0; i < INNER; i++) inAdapter.send(in6); }, inner: INNER, bytes: in6.length },
    { name: 'L2Adapter outgoing (IPv4, 1500 B)', fn: () => { for (let i = 0; i < INNER; i++) outL3.inject(out4); }, inner: INNER, bytes: out4.length, goNs: 61, baseline: 'Copy 1500 B behind an Ethernet header' },
    { name: 'L2Adapter outgoing (IPv6, 1500 B)', fn: () => { for (let i = 0; i < INNER; i++) outL3.inject(out6); }, inner: INNER, bytes: out6.length, baseline: 'Copy 1500 B behind an Ethernet header' },
    {
      name: 'Copy 1500 B behind an Ethernet header',
      fn: () => {
        for (let i = 0; i < INNER; i++) copyBuf.set(out4, 14);
        sink = (sink + copyBuf[100]!) | 0;
        return sink;
      },
      inner: INNER,
      bytes: 1500,
    },
    {
      name: 'ARP lookup',
      fn: () => {
        let s = 0;
        for (let i = 0; i < INNER; i++) s += arp1.find4(0x0a000001)!.macLo;
        sink = (sink + s) | 0;
        return sink;
      },
      inner: INNER,
      goNs: 37,
    },
    {
      name: 'ARP lookup (4096 entries)',
      fn: () => {
        let s = 0;
        for (let i = 0; i < INNER; i++) s += arpFull.find4(0x0a000001 + ((i * 7) & 4095))!.macLo;
        sink = (sink + s) | 0;
        return sink;
      },
      inner: INNER,
    },
    {
      name: 'NDP lookup',
      fn: () => {
        let s = 0;
        for (let i = 0; i < INNER; i++) s += ndp1.find6(w0, 0, 0, 1)!.macLo;
        sink = (sink + s) | 0;
        return sink;
      },
      inner: INNER,
      goNs: 37,
      baseline: 'NDP lookup by address text (Map<string>)',
    },
    {
      name: 'NDP lookup (4096 entries)',
      fn: () => {
        let s = 0;
        for (let i = 0; i < INNER; i++) s += ndpFull.find6(w0, 0, 0, ((i * 7) & 4095) + 1)!.macLo;
        sink = (sink + s) | 0;
        return sink;
      },
      inner: INNER,
    },
    {
      name: 'NDP lookup by address text (Map<string>)',
      fn: () => {
        let s = 0;
        for (let i = 0; i < INNER / 10; i++) s += byText.get(formatIPv6(v6addr)) === PEER ? 1 : 0;
        sink = (sink + s) | 0;
        return sink;
      },
      inner: INNER / 10,
      allocates: true,
    },
  ];
}
