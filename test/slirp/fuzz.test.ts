/**
 * Property tests: whatever a virtual host sends, the slirp Stack never throws, and what it sends
 * back is a well-formed IPv4 (header checksum verifies) or IPv6 packet. No real traffic leaves:
 * the policy allows only TEST-NET-1 and the socket factory returns sockets that never connect.
 */
import test from 'ava';
import fc from 'fast-check';
import * as net from 'node:net';
import { ManualClock } from '../../src/core/clock.js';
import { Stack } from '../../src/slirp/stack.js';
import { be16, setBe16 } from '../../src/wire/bytes.js';
import { checksum, transportChecksumV4 } from '../../src/wire/checksum.js';
import { PipeL3 } from '../../src/core/pipe.js';

function fuzzStack(): { slirp: Stack; out: Uint8Array[]; ns: PipeL3; clock: ManualClock } {
  const clock = new ManualClock(0);
  const slirp = new Stack({
    addr: '10.0.0.1/24',
    addr6: 'fd00::1/64',
    dns: '10.0.0.3',
    dnsServers: ['192.0.2.53'],
    clock,
    policy: { allow: ['192.0.2.0/24'] },
    limits: { maxFlows: 8, dialTimeoutMs: 50 },
    connect: () => new net.Socket(),
  });
  const out: Uint8Array[] = [];
  slirp.setHandler((p) => out.push(p.slice()));
  const ns = new PipeL3(null, (p) => out.push(p.slice()));
  slirp.connectL3(ns);
  return { slirp, out, ns, clock };
}

function wellFormed(p: Uint8Array): boolean {
  if (p[0]! >>> 4 === 4) return p.length >= 20 && checksum(p, 0, (p[0]! & 15) * 4) === 0 && be16(p, 2) === p.length;
  if (p[0]! >>> 4 === 6) return p.length >= 40 && be16(p, 4) + 40 === p.length;
  return false;
}

test('random bytes never throw', async (t) => {
  const { slirp, out, ns, clock } = fuzzStack();
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), (b, viaNs) => {
      if (viaNs) ns.inject(b);
      else slirp.send(b);
      clock.advance(10);
    }),
    { numRuns: 3000 },
  );
  t.true(out.every(wellFormed));
  await slirp.close();
});

const v4Packet = fc.record({
  proto: fc.constantFrom(1, 6, 6, 6, 17, 47, 0),
  tcpFlags: fc.constantFrom(0x02, 0x02, 0x10, 0x04, 0x11, 0x12),
  src: fc.constantFrom([10, 0, 0, 2], [10, 0, 0, 9], [0, 0, 0, 0], [224, 1, 1, 1]),
  dst: fc.constantFrom([10, 0, 0, 1], [10, 0, 0, 3], [10, 0, 0, 255], [192, 0, 2, 1], [192, 0, 2, 2], [192, 0, 2, 3], [127, 0, 0, 1], [169, 254, 169, 254], [255, 255, 255, 255]),
  flagsFrag: fc.constantFrom(0, 0x4000, 0x2000, 0x0001),
  ihlExtra: fc.constantFrom(0, 0, 1, 10),
  body: fc.uint8Array({ minLength: 20, maxLength: 120 }),
  fixTransport: fc.boolean(),
});

test('valid IPv4 headers around arbitrary TCP/UDP/ICMP bodies never throw; answers are well formed', async (t) => {
  const { slirp, out, clock } = fuzzStack();
  fc.assert(
    fc.property(v4Packet, (r) => {
      const hl = 20 + r.ihlExtra * 4;
      const p = new Uint8Array(hl + r.body.length);
      p[0] = 0x40 | (hl >> 2);
      setBe16(p, 2, p.length);
      setBe16(p, 6, r.flagsFrag);
      p[8] = 64;
      p[9] = r.proto;
      p.set(r.src, 12);
      p.set(r.dst, 16);
      p.set(r.body, hl);
      if (r.fixTransport && r.proto === 17 && r.body.length >= 8) {
        setBe16(p, hl + 4, r.body.length);
        setBe16(p, hl + 6, 0); // no checksum: accepted over IPv4
      }
      if (r.fixTransport && r.proto === 6 && r.body.length >= 20) {
        p[hl + 13] = r.tcpFlags;
        p[hl + 12] = 0x50; // no options: the segment reaches the TCP stack (and SYNs onSyn)
        setBe16(p, hl + 16, 0);
        const src = ((r.src[0]! << 24) | (r.src[1]! << 16) | (r.src[2]! << 8) | r.src[3]!) >>> 0;
        const dst = ((r.dst[0]! << 24) | (r.dst[1]! << 16) | (r.dst[2]! << 8) | r.dst[3]!) >>> 0;
        setBe16(p, hl + 16, transportChecksumV4(6, src, dst, p, hl, r.body.length));
      }
      setBe16(p, 10, checksum(p, 0, hl));
      slirp.send(p);
      clock.advance(5);
    }),
    { numRuns: 3000 },
  );
  t.true(out.every(wellFormed));
  t.log(`dials ${slirp.stats().dials}, ICMP errors ${slirp.stats().unreachablesSent}, answers ${out.length}`);
  await slirp.close();
});

test('IPv6 packets with arbitrary next headers and bodies never throw', async (t) => {
  const { slirp, out, clock } = fuzzStack();
  fc.assert(
    fc.property(fc.constantFrom(0, 6, 17, 58, 44, 59, 60), fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.constantFrom(1, 2, 0xff), (nh, body, dstLast) => {
      const p = new Uint8Array(40 + body.length);
      p[0] = 0x60;
      setBe16(p, 4, body.length);
      p[6] = nh;
      p[7] = 64;
      p[8] = 0xfd;
      p[23] = 2;
      p[24] = dstLast === 0xff ? 0xff : 0xfd;
      p[39] = dstLast;
      p.set(body, 40);
      slirp.send(p);
      clock.advance(5);
    }),
    { numRuns: 3000 },
  );
  t.true(out.every(wellFormed));
  await slirp.close();
});
