/**
 * Property tests: whatever arrives, the stack never throws, and what it sends is well formed.
 * Three generators: raw bytes; valid IPv4/IPv6 packets with checksums right around arbitrary TCP
 * headers and options (so they pass the checks and reach listeners and Tcbs); and segments aimed
 * at a live connection (its ports and addresses, sequence numbers near the real ones).
 */
import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../../src/core/clock.js';
import { PipeL3 } from '../../../src/core/pipe.js';
import { parseIPv4, parseIPv6 } from '../../../src/wire/addr.js';
import { setBe16 } from '../../../src/wire/bytes.js';
import { transportChecksumV4, transportChecksumV6 } from '../../../src/wire/checksum.js';
import { IpProto, Ipv4View, emitIpv4, newIpv4Fields } from '../../../src/wire/ipv4.js';
import { emitIpv6, newIpv6Fields } from '../../../src/wire/ipv6.js';
import { decodeTcp } from '../../../src/wire/tcp.js';
import { TcpStack } from '../../../src/vtcp/stack.js';
import type { Conn } from '../../../src/vtcp/conn.js';
import { prng } from '../../helpers/tcp-sim.js';
import { pumpFor, stackPair } from './helpers.js';

const A4 = parseIPv4('10.0.0.1');
const B4 = parseIPv4('10.0.0.2');
const A6 = parseIPv6('fd00::1');
const B6 = parseIPv6('fd00::2');

/** Wraps a TCP header + payload (`tcp`) in IPv4 or IPv6 with right checksums. */
function wrap(family: 4 | 6, tcp: Uint8Array, src4 = A4, dst4 = B4): Uint8Array {
  if (family === 4) {
    const p = new Uint8Array(20 + tcp.length);
    p.set(tcp, 20);
    const ip = newIpv4Fields();
    ip.src = src4;
    ip.dst = dst4;
    ip.protocol = IpProto.TCP;
    ip.payloadLen = tcp.length;
    emitIpv4(ip, p, 0);
    if (tcp.length >= 18) {
      setBe16(p, 36, 0);
      setBe16(p, 36, transportChecksumV4(IpProto.TCP, src4, dst4, p, 20, tcp.length));
    }
    return p;
  }
  const p = new Uint8Array(40 + tcp.length);
  p.set(tcp, 40);
  const ip = newIpv6Fields();
  ip.src.set(A6);
  ip.dst.set(B6);
  ip.nextHeader = IpProto.TCP;
  ip.payloadLen = tcp.length;
  emitIpv6(ip, p, 0);
  if (tcp.length >= 18) {
    setBe16(p, 56, 0);
    setBe16(p, 56, transportChecksumV6(IpProto.TCP, p, 8, 24, p, 40, tcp.length));
  }
  return p;
}

/** Checks that a packet the stack sent is IPv4/IPv6 with TCP that decodes and checksums right. */
function wellFormed(p: Uint8Array): boolean {
  if (p[0]! >>> 4 === 4) {
    const v = new Ipv4View().reset(p);
    if (v.check() !== 0 || !v.verifyChecksum()) return false;
    if (transportChecksumV4(IpProto.TCP, v.src, v.dst, p, 20, v.payloadLen) !== 0) return false;
    decodeTcp(p.subarray(20));
    return true;
  }
  if (transportChecksumV6(IpProto.TCP, p, 8, 24, p, 40, p.length - 40) !== 0) return false;
  decodeTcp(p.subarray(40));
  return true;
}

test('raw random bytes never throw; anything answered is well formed', (t) => {
  const clock = new ManualClock();
  const sent: Uint8Array[] = [];
  const pipe = new PipeL3(null, (p) => sent.push(p.slice()));
  const s = new TcpStack(pipe, { clock, addrs: ['10.0.0.2', 'fd00::2'] });
  s.listen(80);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      pipe.inject(bytes);
    }),
    { numRuns: 3000 },
  );
  t.true(sent.every(wellFormed));
  s.close();
  t.is(clock.pending, 0);
});

test('valid IP around arbitrary TCP headers and options: never throws, answers are well formed', (t) => {
  const clock = new ManualClock();
  const sent: Uint8Array[] = [];
  const pipe = new PipeL3(null, (p) => sent.push(p.slice()));
  const s = new TcpStack(pipe, { clock, addrs: ['10.0.0.2', 'fd00::2'], random: prng(7) });
  s.listen(80);
  s.listen(443, { synCookies: 'always' });
  const tcpArb = fc.record({
    family: fc.constantFrom<4 | 6>(4, 6),
    srcPort: fc.constantFrom(1, 1234, 40000, 65535),
    dstPort: fc.constantFrom(80, 443, 81),
    seq: fc.nat({ max: 0xffff_ffff }),
    ack: fc.nat({ max: 0xffff_ffff }),
    dataOff: fc.integer({ min: 0, max: 15 }),
    flags: fc.nat({ max: 255 }),
    window: fc.nat({ max: 0xffff }),
    rest: fc.uint8Array({ maxLength: 80 }),
    advance: fc.nat({ max: 3000 }),
  });
  fc.assert(
    fc.property(tcpArb, (x) => {
      const tcp = new Uint8Array(20 + x.rest.length);
      setBe16(tcp, 0, x.srcPort);
      setBe16(tcp, 2, x.dstPort);
      new DataView(tcp.buffer).setUint32(4, x.seq);
      new DataView(tcp.buffer).setUint32(8, x.ack);
      tcp[12] = x.dataOff << 4;
      tcp[13] = x.flags;
      setBe16(tcp, 14, x.window);
      tcp.set(x.rest, 20);
      pipe.inject(wrap(x.family, tcp));
      clock.advance(x.advance);
    }),
    { numRuns: 5000 },
  );
  t.true(sent.length > 0);
  t.true(sent.every(wellFormed));
  s.close();
  t.is(clock.pending, 0);
});

test('segments aimed at a live connection (its tuple, nearby sequence numbers): never throw; the stack stays usable', async (t) => {
  const { clock, a, b, pb } = stackPair();
  const server = b.listen(80);
  const accepted: Conn[] = [];
  server.on('connection', (c: Conn) => {
    c.on('error', () => {});
    c.resume();
    accepted.push(c);
  });
  const conn = await pumpFor(clock, a.dial('10.0.0.2', 80));
  conn.on('error', () => {});
  conn.write('x'.repeat(3000));
  await pumpFor(clock, new Promise((r) => setTimeout(r, 5)));
  const lport = conn.localPort;
  const base = conn.tcb.sndNxt;
  const rbase = conn.tcb.rcvNxt;
  fc.assert(
    fc.property(
      fc.record({
        dseq: fc.integer({ min: -70000, max: 70000 }),
        dack: fc.integer({ min: -70000, max: 70000 }),
        flags: fc.nat({ max: 63 }),
        opts: fc.uint8Array({ maxLength: 40 }),
        payload: fc.nat({ max: 1500 }),
      }),
      (x) => {
        const optLen = x.opts.length & ~3;
        const tcp = new Uint8Array(20 + optLen + x.payload);
        setBe16(tcp, 0, lport);
        setBe16(tcp, 2, 80);
        const dv = new DataView(tcp.buffer);
        dv.setUint32(4, (base + x.dseq) >>> 0);
        dv.setUint32(8, (rbase + x.dack) >>> 0);
        tcp[12] = ((20 + optLen) >>> 2) << 4;
        tcp[13] = x.flags;
        setBe16(tcp, 14, 1000);
        tcp.set(x.opts.subarray(0, optLen), 20);
        // Injected into b as if from a (the device b's stack reads).
        pb.inject(wrap(4, tcp));
        clock.advance(1);
      },
    ),
    { numRuns: 3000 },
  );
  // The stacks still work: a fresh connection carries data.
  const c2 = await pumpFor(clock, a.dial('10.0.0.2', 80));
  c2.on('error', () => {});
  t.is(c2.remotePort, 80);
  a.close();
  b.close();
  t.is(clock.pending, 0);
});
