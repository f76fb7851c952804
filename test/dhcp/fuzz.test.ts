/**
 * Property tests: whatever arrives from the network, the client and the server never throw,
 * their tables stay within bounds, and the server never binds one address to two clients.
 */

import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { buildDhcpFrame } from '../../src/dhcp/frame.js';
import { DHCPServer } from '../../src/dhcp/server.js';
import { BROADCAST_MAC } from '../../src/wire/addr.js';
import { DhcpOp, newDhcpFields } from '../../src/wire/dhcp.js';
import { Ipv4View } from '../../src/wire/ipv4.js';
import { UdpView } from '../../src/wire/udp.js';
import { fromHex } from '../helpers/bytes.js';
import * as V from '../vectors/dhcp-frames.js';
import { TestHost, ip, serverOptions } from './helpers.js';

const CAPTURED = Object.values(V).map((h) => fromHex(h));
const CLIENT_MAC = 0x0200_0098_0702;

/** Recomputes the IPv4 and UDP checksums of a mutated frame when its headers still hold, so that mutations reach the DHCP logic. */
function fixChecksums(f: Uint8Array): void {
  if (f.length < 34) return;
  const ipv = new Ipv4View().reset(f, 14);
  if (ipv.check() !== 0) return;
  ipv.fillChecksum();
  const udp = new UdpView().reset(f, ipv.payloadOff, ipv.payloadLen);
  if (udp.check() === 0) udp.fillChecksumV4(ipv.src, ipv.dst);
}

/** A valid frame (a captured one), mutated: bytes overwritten, then maybe truncated or extended. */
const mutatedFrame = fc
  .record({
    base: fc.constantFrom(...CAPTURED),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 64 }),
    fix: fc.boolean(),
  })
  .map(({ base, edits, cut, tail, fix }) => {
    let f = base.slice();
    // Edits aimed past the Ethernet/IP/UDP headers most of the time, where the DHCP logic is.
    for (const [at, v] of edits) f[at % f.length] = v;
    if (cut !== undefined) f = f.slice(0, cut % (f.length + 1));
    if (tail.length > 0) f = Uint8Array.from([...f, ...tail]);
    if (fix) fixChecksums(f);
    return f;
  });

const anyFrame = fc.oneof(fc.uint8Array({ maxLength: 700 }), mutatedFrame);

test('the server never throws on random or mutated frames, and its table stays bounded', (t) => {
  let reached = 0;
  fc.assert(
    fc.property(fc.array(anyFrame, { maxLength: 40 }), (frames) => {
      const clock = new ManualClock(0);
      const s = new DHCPServer(serverOptions(clock, { serverIp: '10.98.7.1', rangeStart: '10.98.7.50', rangeEnd: '10.98.7.99', router: null, maxLeases: 4 }));
      s.setHandler(() => {});
      for (const f of frames) {
        s.send(f);
        clock.advance(100);
      }
      const st = s.stats();
      s.close();
      reached += Object.values(st.rx).reduce((a, b) => a + b, 0);
      return st.entries <= 4 && st.declined <= 4 && clock.pending === 0;
    }),
    { numRuns: 300 },
  );
  t.true(reached > 0, 'some mutated requests got past the frame checks');
});

test('the client never throws on random or mutated frames in any state, and is silent after stop', (t) => {
  let reached = 0;
  fc.assert(
    fc.property(fc.array(anyFrame, { maxLength: 30 }), fc.nat({ max: 3 }), (frames, stage) => {
      const clock = new ManualClock(0);
      const h = new TestHost(CLIENT_MAC, clock);
      h.engine.start();
      // Reach a few states with a real server before the noise starts.
      if (stage > 0) {
        const s = new DHCPServer(serverOptions(clock, { serverIp: '10.98.7.1', rangeStart: '10.98.7.50', rangeEnd: '10.98.7.99', leaseSecs: 100 }));
        s.setHandler((f) => h.engine.handleFrame(f));
        h.setHandler((f) => s.send(f));
        h.engine.stop();
        h.engine.start();
        clock.advance(stage === 1 ? 0 : stage === 2 ? 2000 : 60_000);
        s.close();
      }
      for (const f of frames) {
        // Most frames get the client's current xid, so that they reach its state machine.
        const last = h.sent.at(-1);
        if (last !== undefined && f.length >= 42 + 8 && f[0]! % 4 !== 0) {
          f.set(last.subarray(46, 50), 46);
          fixChecksums(f);
        }
        h.engine.handleFrame(f);
        clock.advance(500);
      }
      const st = h.engine.stats();
      reached += (st.rx['offer'] ?? 0) + (st.rx['ack'] ?? 0) + (st.rx['nak'] ?? 0);
      h.engine.stop();
      // The test host's own probe answer may still be armed; once it has run, nothing is left,
      // and a stopped client sends nothing more.
      const sent = h.sent.length;
      clock.advance(1e7);
      return clock.pending === 0 && h.sent.length === sent && h.engine.state === 'stopped';
    }),
    { numRuns: 300 },
  );
  t.true(reached > 0, 'some mutated replies got past the xid and chaddr checks');
});

test('random well-formed requests: never two clients on one address, never outside the pool, bounded', (t) => {
  const macs = [1, 2, 3, 4, 5, 6].map((i) => 0x0200_0000_0300 + i);
  const request = fc.record({
    type: fc.integer({ min: 0, max: 9 }),
    mac: fc.constantFrom(...macs),
    clientId: fc.constantFrom(new Uint8Array(0), Uint8Array.of(0, 1), Uint8Array.of(0, 2)),
    requested: fc.constantFrom(0, ip('10.0.0.100'), ip('10.0.0.101'), ip('10.0.0.102'), ip('10.0.0.20'), ip('10.9.9.9')),
    ciaddr: fc.constantFrom(0, ip('10.0.0.100'), ip('10.0.0.102'), ip('10.0.0.20')),
    serverId: fc.constantFrom(0, ip('10.0.0.1'), ip('10.0.0.2')),
    flags: fc.constantFrom(0, 0x8000),
    giaddr: fc.constantFrom(0, 0, ip('10.0.0.254')),
    advanceMs: fc.integer({ min: 0, max: 40_000 }),
  });
  let acks = 0;
  fc.assert(
    fc.property(fc.array(request, { maxLength: 60 }), (reqs) => {
      const clock = new ManualClock(0);
      const s = new DHCPServer(
        serverOptions(clock, { rangeEnd: '10.0.0.102', maxLeases: 3, leaseSecs: 60, offerHoldMs: 5000, staticLeases: { '02:00:00:00:03:06': '10.0.0.20' } }),
      );
      s.setHandler(() => {});
      for (const r of reqs) {
        const f = newDhcpFields();
        f.op = DhcpOp.BootRequest;
        f.messageType = r.type;
        f.chaddr = r.mac;
        f.clientId = r.clientId;
        f.requestedIp = r.requested;
        f.ciaddr = r.ciaddr;
        f.serverId = r.serverId;
        f.flags = r.flags;
        f.giaddr = r.giaddr;
        s.send(buildDhcpFrame(f, { ethSrc: r.mac, ethDst: BROADCAST_MAC, ipSrc: r.ciaddr, ipDst: 0xffff_ffff, srcPort: 68, dstPort: 67, ident: 0 }));
        clock.advance(r.advanceMs);
        const leases = s.leases();
        const addrs = leases.map((l) => l.addr);
        if (new Set(addrs).size !== addrs.length) return false;
        for (const l of leases) {
          const a = ip(l.addr);
          const inPool = a >= ip('10.0.0.100') && a <= ip('10.0.0.102');
          if (!inPool && !(a === ip('10.0.0.20') && l.mac === '02:00:00:00:03:06')) return false;
        }
        if (s.stats().entries > 3) return false;
      }
      acks += s.stats().tx['ack'] ?? 0;
      s.close();
      return true;
    }),
    { numRuns: 300 },
  );
  t.true(acks > 0, 'the random requests did get leases');
});
