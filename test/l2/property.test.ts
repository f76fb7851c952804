/** Property tests: whatever the link sends, the adapter never throws and its memory stays bounded. */
import test from 'ava';
import fc from 'fast-check';
import { fromHex, writeMac } from '../../src/wire/bytes.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { NdpType } from '../../src/wire/ndp.js';
import { formatIPv4 } from '../../src/wire/addr.js';
import * as V from '../vectors/l2-captured.js';
import { adapterWith, arpRequest, eth, ndFrame, udp4, udp6 } from './helpers.js';

const MAC = 0x0200_5e77_0002;
const MAX = 32;
const vectors = Object.values(V).filter((v): v is string => typeof v === 'string').map(fromHex);

/** Frames that get past the MAC filter often: kernel vectors mutated, and random payloads behind good headers. */
const frameArb = fc.oneof(
  fc.uint8Array({ maxLength: 120 }),
  fc.tuple(fc.constantFrom(...vectors), fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(120)).map(([v, edits, cut]) => {
    const f = v.slice(0, Math.max(0, v.length - (cut % 20)));
    for (const [i, b] of edits) if (f.length > 0) f[i % f.length] = b;
    return f;
  }),
  fc.tuple(fc.constantFrom(MAC, 0xffff_ffff_ffff, 0x3333_ff77_0002, 0x3333_0000_0001), fc.constantFrom(EtherType.ARP, EtherType.IPv4, EtherType.IPv6), fc.uint8Array({ maxLength: 100 })).map(([dst, type, body]) => {
    const f = eth(dst, 0x0200_0000_0001, type, body);
    if (type === EtherType.IPv4 && body.length > 0) f[14] = 0x45;
    if (type === EtherType.IPv6 && body.length > 0) f[14] = 0x60;
    return f;
  }),
  // Well-formed solicitations for us from random senders (they create entries).
  fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.boolean()).map(([n, v6]) =>
    v6
      ? ndFrame({ type: NdpType.NeighborSolicitation, src: `fd77::${n.toString(16)}:1`, dst: 'ff02::1:ff77:2', target: 'fd77::77:2', lla: 0x0200_0000_0000 + n, ethDst: 0x3333_ff77_0002, ethSrc: 0x0200_0000_0000 + n })
      : arpRequest(0x0200_0000_0000 + n, formatIPv4(0x0a4d0000 + n), '10.77.0.2'),
  ),
);

type Op = { kind: 'frame'; f: Uint8Array } | { kind: 'out4' | 'out6'; n: number } | { kind: 'time'; ms: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: frameArb.map((f) => ({ kind: 'frame' as const, f })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 0xfffe }).map((n) => ({ kind: 'out4' as const, n })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 0xfffe }).map((n) => ({ kind: 'out6' as const, n })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40_000 }).map((ms) => ({ kind: 'time' as const, ms })) },
);

test('property: random frames, packets and time never throw; caches and queues stay bounded', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
      const s = adapterWith('10.77.0.2/16', { mac: MAC, maxNeighbors: MAX, maxPendingPerDest: 4, maxPendingTotal: 16 });
      s.a.addAddr('fd77::77:2/64');
      s.a.setGateway('10.77.0.1');
      for (const op of ops) {
        if (op.kind === 'frame') s.a.send(op.f);
        else if (op.kind === 'out4') s.l3.inject(udp4('10.77.0.2', formatIPv4(0x0a4d0000 + op.n)));
        else if (op.kind === 'time') s.clock.advance(op.ms);
        else s.l3.inject(udp6('fd77::77:2', `fd77::${op.n.toString(16)}`));
        const st = s.a.stats();
        if (st.arpEntries > MAX || st.ndpEntries > MAX || st.pendingPackets > 32) return false;
        if (s.out.length > 10_000) return false;
      }
      s.a.close();
      return s.clock.pending === 0 && s.a.stats().pendingPackets === 0;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('property: every frame counts once as received, and drops never exceed receptions', (t) => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 60 }), (frames) => {
      const s = adapterWith('10.77.0.2/24', { mac: MAC });
      for (const f of frames) s.a.send(f);
      const st = s.a.stats();
      return st.rxFrames === frames.length && st.dropped <= frames.length;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('a flood of 20000 distinct NS senders keeps the neighbour cache at its bound', (t) => {
  const s = adapterWith('10.77.0.2/24', { mac: MAC, maxNeighbors: 256 });
  s.a.addAddr('fd77::2/64');
  const frame = ndFrame({ type: NdpType.NeighborSolicitation, src: 'fd77::1:0', dst: 'ff02::1:ff00:2', target: 'fd77::2', lla: 0x0200_0000_0000, ethDst: 0x3333_ff00_0002, ethSrc: 0x0200_0000_0000 });
  const start = process.memoryUsage().heapUsed;
  for (let i = 0; i < 20_000; i++) {
    // New source address and SLLA, checksum patched incrementally by recomputing it.
    frame[14 + 8 + 14] = i >>> 8;
    frame[14 + 8 + 15] = i & 0xff;
    writeMac(frame, 14 + 40 + 24 + 2, 0x0200_0000_0000 + i);
    frame[56] = 0;
    frame[57] = 0;
    let sum = 0;
    for (let k = 14 + 8; k < 14 + 40; k += 2) sum += (frame[k]! << 8) | frame[k + 1]!;
    sum += 58 + (frame.length - 54);
    for (let k = 54; k < frame.length; k += 2) sum += (frame[k]! << 8) | (frame[k + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const c = ~sum & 0xffff;
    frame[56] = c >>> 8;
    frame[57] = c & 0xff;
    s.a.send(frame);
  }
  const st = s.a.stats();
  t.is(st.ndpEntries, 256);
  t.is(st.events.naSent >= 20_000, true);
  t.is(st.events.evictions, 20_000 - 256);
  t.is(st.dropped, 0);
  t.true(s.clock.pending <= 256 + 2, `${s.clock.pending} timers: one per entry at most`);
  t.log(`heap growth ${((process.memoryUsage().heapUsed - start) / 1e6).toFixed(1)} MB (frames recorded by the test included)`);
});
