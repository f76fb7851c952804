/**
 * Core rows of the Go pktkit README's performance table, under the same names and with the same
 * inputs as its benchmark_test.go: a 1514-byte frame (1500 B IPv4/TCP payload), a 1500-byte IPv4
 * packet, a 1460-byte IPv6 packet, a 4-port L2Hub with learned MACs, a 4-port L3Hub with one /24
 * per port, and the checksum over 1500 bytes (and the other sizes of STYLE.md's sweep).
 */

import { Frame } from '../src/core/frame.js';
import { Packet } from '../src/core/packet.js';
import { L2Hub } from '../src/core/l2-hub.js';
import { L3Hub } from '../src/core/l3-hub.js';
import { PipeL2, PipeL3 } from '../src/core/pipe.js';
import { connectL2 } from '../src/core/connect.js';
import { checksum, pseudoHeaderSumV4, pseudoHeaderSumV6, sum16Reference } from '../src/wire/checksum.js';
import { newFrame } from '../src/core/frame.js';
import { EtherType } from '../src/wire/ethernet.js';
import { parseIPv6 } from '../src/wire/addr.js';
import type { Row } from './harness.js';

const INNER = 1000;

function ipv4Packet(len: number, dst: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >>> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 6;
  p.set([10, 0, 0, 1], 12);
  p.set([dst >>> 24, (dst >>> 16) & 0xff, (dst >>> 8) & 0xff, dst & 0xff], 16);
  p[20] = 0x30;
  p[21] = 0x39;
  p[23] = 80;
  p[32] = 0x50;
  return p;
}

function ipv6Packet(): Uint8Array {
  const p = new Uint8Array(1460);
  p[0] = 0x60;
  p[4] = 1420 >>> 8;
  p[5] = 1420 & 0xff;
  p[6] = 6;
  p[7] = 64;
  p.set(parseIPv6('2001:db8::1'), 8);
  p.set(parseIPv6('2001:db8::2'), 24);
  p[52] = 0x50;
  return p;
}

export function coreRows(): Row[] {
  const frameBytes = newFrame(0x0011_2233_4455, 0xaabb_ccdd_eeff, EtherType.IPv4, ipv4Packet(1500, 0x0a000002));
  const frame = new Frame();
  let sink = 0;

  const frameAccessors = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      const f = frame.reset(frameBytes);
      s += f.check() + f.dstMAC + f.srcMAC + f.etherType + f.payloadOff + f.payloadLen + f.headerLen + (f.isBroadcast ? 1 : 0) + (f.isMulticast ? 1 : 0);
    }
    sink = (sink + s) | 0;
    return sink;
  };
  // What STYLE.md warns against: a DataView per frame to read the same fields.
  const frameDataView = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      const dv = new DataView(frameBytes.buffer, frameBytes.byteOffset, frameBytes.length);
      s += dv.getUint16(0) * 2 ** 32 + dv.getUint32(2) + dv.getUint16(6) * 2 ** 32 + dv.getUint32(8) + dv.getUint16(12) + (dv.getUint8(0) & 1);
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const v4 = ipv4Packet(1500, 0xc0a80101);
  const packet = new Packet();
  const packetV4 = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      const p = packet.reset(v4);
      s += p.check() + p.version + p.ipv4SrcAddr + p.ipv4DstAddr + p.ipv4Protocol + p.payloadOff + p.payloadLen + p.ipv4HeaderLen + p.ipv4TotalLen + (p.isBroadcast ? 1 : 0) + (p.isMulticast ? 1 : 0);
    }
    sink = (sink + s) | 0;
    return sink;
  };
  const v6 = ipv6Packet();
  const packetV6 = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      const p = packet.reset(v6);
      s += p.check() + p.version + p.v6.srcWord(3) + p.v6.dstWord(3) + p.ipv6NextHeader + p.ipProtocol + p.payloadOff + p.ipv6PayloadLen;
    }
    sink = (sink + s) | 0;
    return sink;
  };

  // Dual stack: one code path handling a flow that alternates IPv4 and IPv6 packets, as an
  // engine's per-packet function does (one check, then a branch on the version). Its code has
  // both versions' feedback: see harness.ts on isolation and docs/ARCHITECTURE.md on V8's
  // inlining budget.
  const mixed = [v4, v6];
  const packetDual = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      const p = packet.reset(mixed[i & 1]!);
      s += p.check() + p.ipProtocol + p.payloadOff + p.payloadLen;
      s += p.version === 4 ? p.ipv4SrcAddr + p.ipv4DstAddr : p.v6.srcWord(3) + p.v6.dstWord(3);
    }
    sink = (sink + s) | 0;
    return sink;
  };

  // L2Hub: 4 ports, MACs learned, a 1514-byte unicast from port 0 to port 1.
  const macs = [1, 2, 3, 4].map((i) => 0x0200_0000_0000 + i);
  const hub = new L2Hub();
  const pipes = macs.map((m) => new PipeL2(m));
  for (const p of pipes) hub.connect(p);
  for (let i = 0; i < 4; i++) pipes[i]!.inject(newFrame(0xffff_ffff_ffff, macs[i]!, EtherType.IPv4, new Uint8Array(46)));
  const unicast = newFrame(macs[1]!, macs[0]!, EtherType.IPv4, new Uint8Array(1500));
  const src = pipes[0]!;
  const l2Forward = (): void => {
    for (let i = 0; i < INNER; i++) src.inject(unicast);
  };
  // Baseline: the same two pipes wired directly (the cost of the pipe and handler calls alone).
  const d0 = new PipeL2(0x0200_0000_0101);
  const d1 = new PipeL2(0x0200_0000_0102);
  connectL2(d0, d1);
  const direct = (): void => {
    for (let i = 0; i < INNER; i++) d0.inject(unicast);
  };

  // L3Hub: 4 ports with one /24 each; 10.0.1.1 -> 10.0.2.1.
  const l3 = new L3Hub();
  const devs = [1, 2, 3, 4].map((i) => new PipeL3(`10.0.${i}.254/24`));
  for (const d of devs) l3.connect(d);
  const routed = ipv4Packet(1500, 0x0a000201);
  const l3src = devs[0]!;
  const l3Route = (): void => {
    for (let i = 0; i < INNER; i++) l3src.inject(routed);
  };
  const routed6 = ipv6Packet();
  const v6devs = [1, 2].map((i) => new PipeL3(`2001:db8:${i}::1/48`));
  for (const d of v6devs) l3.connect(d);
  routed6.set(parseIPv6('2001:db8:2::99'), 24);
  const l3Route6 = (): void => {
    for (let i = 0; i < INNER; i++) v6devs[0]!.inject(routed6);
  };

  const data = new Uint8Array(9000);
  for (let i = 0; i < data.length; i += 2) {
    data[i] = 0xab;
    data[i + 1] = 0xcd;
  }
  const sized = (n: number) => data.subarray(0, n);
  const csumRows: Row[] = [64, 576, 1500, 9000].map((n) => {
    const b = sized(n);
    const inner = n <= 1500 ? 100 : 20;
    return {
      name: n === 1500 ? 'Checksum (1500 B)' : `Checksum (${n} B)`,
      fn: () => {
        let s = 0;
        for (let i = 0; i < inner; i++) s += checksum(b);
        sink = (sink + s) | 0;
        return sink;
      },
      inner,
      bytes: n,
      goNs: n === 1500 ? 273 : undefined,
      baseline: n === 1500 ? 'Checksum reference (1500 B)' : undefined,
    } satisfies Row;
  });
  const b1500 = sized(1500);
  const addrs = new Uint8Array(32);
  addrs.set(parseIPv6('2001:db8::1'), 0);
  addrs.set(parseIPv6('2001:db8::2'), 16);

  return [
    { name: 'Frame accessors', fn: frameAccessors, inner: INNER, bytes: frameBytes.length, goNs: 0.63, baseline: 'Frame fields via a DataView per frame' },
    { name: 'Frame fields via a DataView per frame', fn: frameDataView, inner: INNER, bytes: frameBytes.length, allocates: true },
    { name: 'Packet IPv4 accessors', fn: packetV4, inner: INNER, bytes: v4.length, goNs: 0.92 },
    { name: 'Packet IPv6 accessors', fn: packetV6, inner: INNER, bytes: v6.length, goNs: 0.67 },
    { name: 'Packet accessors, IPv4 and IPv6 alternating', fn: packetDual, inner: INNER, bytes: (v4.length + v6.length) / 2 },
    { name: 'L2Hub unicast forward', fn: l2Forward, inner: INNER, bytes: unicast.length, goNs: 50, baseline: 'connectL2 direct (no hub)' },
    { name: 'connectL2 direct (no hub)', fn: direct, inner: INNER, bytes: unicast.length },
    { name: 'L3Hub route', fn: l3Route, inner: INNER, bytes: routed.length, goNs: 9.2 },
    { name: 'L3Hub route (IPv6)', fn: l3Route6, inner: INNER, bytes: routed6.length },
    ...csumRows,
    {
      name: 'Checksum reference (1500 B)',
      fn: () => {
        let s = 0;
        for (let i = 0; i < 10; i++) s += sum16Reference(b1500);
        sink = (sink + s) | 0;
        return sink;
      },
      inner: 10,
      bytes: 1500,
    },
    {
      name: 'Pseudo-header checksum IPv4',
      fn: () => {
        let s = 0;
        for (let i = 0; i < INNER; i++) s += pseudoHeaderSumV4(6, 0x0a000001 + i, 0x0a000002, 1460);
        sink = (sink + s) | 0;
        return sink;
      },
      inner: INNER,
    },
    {
      name: 'Pseudo-header checksum IPv6',
      fn: () => {
        let s = 0;
        for (let i = 0; i < INNER; i++) s += pseudoHeaderSumV6(6, addrs, 0, 16, 1460 + (i & 1));
        sink = (sink + s) | 0;
        return sink;
      },
      inner: INNER,
    },
  ];
}
