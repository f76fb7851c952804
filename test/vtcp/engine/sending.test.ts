/**
 * The send path against a scripted peer: MSS sizing, RTO (RFC 6298) with backoff and Karn's
 * rule, fast retransmit (RFC 5681 §3.2) and the duplicate-ACK definition, NewReno partial ACKs
 * (RFC 6582), SACK recovery (RFC 6675), window scaling (RFC 7323 §2), the persist timer, Nagle,
 * and the FIN's sequence number and place.
 */
import test from 'ava';
import { windowShiftFor } from '../../../src/vtcp/tcb.js';
import { TCP_FLAG_FIN, TCP_FLAG_SYN } from '../../../src/wire/tcp.js';
import { Harness, ISS, TcpState, bytes } from './scripted.js';

const dataSegs = (h: Harness) => h.take().filter((s) => s.data.length > 0 || (s.f.flags & TCP_FLAG_FIN) !== 0);

const mssCase = test.macro({
  exec(t, ourMss: number, peerMss: number, ts: boolean, want: number) {
    const h = new Harness({ mss: ourMss, timestamps: ts }, { mss: peerMss, ts });
    h.tcb.connect(1, 2, ISS);
    t.is(h.sink.last!.f.mss, ourMss, 'our SYN announces our MSS');
    h.take();
    h.input({ flags: TCP_FLAG_SYN | 0x10, seq: 500_000, ack: ISS + 1, window: 65535, mss: peerMss, windowScale: 7, sackPermitted: true, hasTimestamps: ts, tsVal: 1, tsEcr: 1 });
    h.write(20_000);
    const segs = dataSegs(h);
    t.true(segs.length > 2);
    t.is(segs[0]!.data.length, want);
    t.true(segs.every((s) => s.data.length <= want));
    t.is(h.tcb.segMss, want);
  },
  title: (_p, ourMss: number, peerMss: number, ts: boolean, want: number) => `MSS: ours ${ourMss}, peer ${peerMss || 'none'}, timestamps ${ts}: ${want}-byte segments`,
});
test(mssCase, 1460, 1000, true, 988);
test(mssCase, 1460, 1000, false, 1000);
test(mssCase, 1460, 0, false, 536);
test(mssCase, 500, 1460, false, 500);
test(mssCase, 1460, 1460, true, 1448);

test('RTO: doubles on each timeout (RFC 6298 §5.5), capped at rtoMaxMs', (t) => {
  const h = new Harness({ timestamps: false, rtoMinMs: 200, rtoMaxMs: 3000, maxRetries: 10 }, { ts: false }).openActive();
  t.is(h.tcb.rto.rto, 200, 'a 0 ms handshake sample gives the minimum');
  h.take();
  h.write(100);
  const t0 = h.clock.now();
  h.clock.advance(20_000);
  const times = dataSegs(h).map((s) => s.at - t0);
  t.deepEqual(times.slice(0, 7), [0, 200, 600, 1400, 3000, 6000, 9000]);
  t.true(times.length <= 11);
  t.is(h.tcb.stats().rtoTimeouts, times.length - 1);
});

test('RTO: after maxRetries the connection ends with ETIMEDOUT and an RST', (t) => {
  const h = new Harness({ timestamps: false, rtoMinMs: 200, rtoMaxMs: 1000, maxRetries: 3 }, { ts: false }).openActive();
  h.take();
  h.write(10);
  h.clock.advance(10_000);
  const segs = h.take();
  t.is(segs.filter((s) => s.data.length === 10).length, 4);
  t.true((segs.at(-1)!.f.flags & 0x04) !== 0);
  t.is(h.closeReason, 'ETIMEDOUT');
});

test("Karn's rule: no RTT sample from a retransmitted segment (without timestamps)", (t) => {
  const h = new Harness({ timestamps: false, rtoMinMs: 200 }, { ts: false }).openActive();
  t.is(h.tcb.rto.srtt, 0);
  h.take();
  h.write(100);
  h.clock.advance(700); // sent at 0, resent at 200 and 600
  t.is(dataSegs(h).length, 3);
  h.send({ ack: ISS + 101 });
  t.is(h.tcb.rto.srtt, 0, 'the 700 ms would be a wrong sample');
  t.is(h.tcb.rto.rto, 800, 'the backed-off RTO stays until a valid sample');
  h.write(100);
  h.clock.advance(80);
  h.send({ ack: ISS + 201 });
  t.is(h.tcb.rto.srtt, 10, 'a clean sample: SRTT = 7/8 * 0 + 1/8 * 80');
});

test('RTT from timestamps (RFC 7323 §4): samples even from retransmissions, by the echoed TSval', (t) => {
  const h = new Harness({ rtoMinMs: 200 }).openActive();
  h.take();
  h.write(100);
  h.clock.advance(200); // RTO: resent
  const segs = dataSegs(h);
  t.is(segs.length, 2);
  h.clock.advance(30);
  h.send({ ack: ISS + 101, tsEcr: segs[1]!.f.tsVal });
  t.is(h.tcb.rto.srtt, (0 * 7) / 8 + 30 / 8);
});

/** Ten full segments in flight; returns the first byte of each. */
function tenInFlight(h: Harness): number[] {
  h.take();
  h.write(10 * h.tcb.segMss);
  const segs = dataSegs(h);
  return segs.map((s) => s.f.seq);
}

const dupCase = test.macro({
  exec(t, variant: string, counts: boolean) {
    const h = new Harness({ sack: false, timestamps: false }, { sack: false, ts: false }).openActive();
    const seqs = tenInFlight(h);
    t.is(seqs.length, 10);
    h.send({ ack: seqs[1]! }); // first segment acknowledged
    h.take();
    for (let i = 0; i < 3; i++) {
      if (variant === 'pure') h.send({ ack: seqs[1]! });
      else if (variant === 'data') h.send({ ack: seqs[1]!, data: bytes(10) });
      else if (variant === 'window') h.send({ ack: seqs[1]!, window: h.wfield() - 1000 * (i + 1) });
      else if (variant === 'fin') h.send({ ack: seqs[1]!, flags: 0x10 | (i === 0 ? TCP_FLAG_FIN : 0) });
      if (i < 2) t.false(h.take().some((s) => s.f.seq === seqs[1]! && s.data.length > 0), 'no retransmission before the third');
    }
    const rtx = h.take().filter((s) => s.f.seq === seqs[1]! && s.data.length > 0);
    t.is(rtx.length, counts ? 1 : 0);
    t.is(h.tcb.stats().fastRetransmits, counts ? 1 : 0);
    t.is(h.tcb.stats().dupAcks, variant === 'pure' ? 3 : variant === 'fin' ? 2 : 0);
  },
  title: (_p, variant: string, counts: boolean) => `duplicate ACKs (RFC 5681 §2), ${variant}: ${counts ? 'fast retransmit on exactly the third' : 'not counted'}`,
});
test(dupCase, 'pure', true);
test(dupCase, 'data', false);
test(dupCase, 'window', false);

test('NewReno (RFC 6582): a partial ACK retransmits the next hole at once; the full ACK ends recovery', (t) => {
  const h = new Harness({ sack: false, timestamps: false }, { sack: false, ts: false }).openActive();
  const seqs = tenInFlight(h);
  const mss = h.tcb.segMss;
  // Segments 2 and 5 are lost; the peer acknowledges 0 and 1, then duplicates for 3, 4, 6.
  h.send({ ack: seqs[2]! });
  for (let i = 0; i < 3; i++) h.send({ ack: seqs[2]! });
  let out = dataSegs(h);
  t.is(out.filter((s) => s.f.seq === seqs[2]).length, 1, 'fast retransmit of segment 2');
  t.true(h.tcb.inRecovery);
  const ssthresh = h.tcb.cc.ssthresh;
  t.is(ssthresh, Math.max((8 * mss) / 2, 2 * mss));
  h.send({ ack: seqs[2]! }); // a further dup ACK inflates
  t.is(h.tcb.cwndInflate, 4 * mss);
  h.take();
  h.send({ ack: seqs[5]! }); // partial: covers the retransmission, stops at the second hole
  out = dataSegs(h);
  t.is(out[0]!.f.seq, seqs[5]!, 'segment 5 resent without waiting for an RTO');
  t.true(h.tcb.inRecovery);
  t.is(h.tcb.stats().rtoTimeouts, 0);
  h.send({ ack: h.tcb.sndMax });
  t.false(h.tcb.inRecovery);
  t.is(h.tcb.cc.cwnd, ssthresh);
});

test('SACK recovery (RFC 6675): retransmits only the holes', (t) => {
  const h = new Harness({ timestamps: false }, { ts: false }).openActive();
  t.true(h.tcb.sackOn);
  const seqs = tenInFlight(h);
  const mss = h.tcb.segMss;
  const end = (i: number) => (seqs[i]! + mss) >>> 0;
  // Holes: segments 1 and 4. The peer has 0, 2-3, 5-9.
  h.send({ ack: seqs[1]! });
  h.send({ ack: seqs[1]!, sack: [seqs[2]!, end(2)] });
  h.send({ ack: seqs[1]!, sack: [seqs[2]!, end(3)] });
  h.send({ ack: seqs[1]!, sack: [seqs[5]!, end(5), seqs[2]!, end(3)] });
  h.send({ ack: seqs[1]!, sack: [seqs[5]!, end(9), seqs[2]!, end(3)] });
  const first = seqs[0]!;
  const highest = end(9);
  const rtx = dataSegs(h).filter((s) => s.f.seq - first < highest - first);
  t.deepEqual(rtx.map((s) => (s.f.seq - first) / mss), [1, 4]);
  t.is(h.tcb.stats().fastRetransmits, 1);
  h.send({ ack: h.tcb.sndMax });
  t.false(h.tcb.inRecovery);
  t.is(h.tcb.bufferedAmount, 0);
});

test('window scaling (RFC 7323 §2): shift from the buffer size, SYN windows unscaled, later ones scaled', (t) => {
  const h = new Harness({ recvBufferSize: 1 << 20 }, { ws: 7, window: 3 << 20 });
  h.tcb.connect(1, 2, ISS);
  const syn = h.sink.last!.f;
  t.is(syn.windowScale, 5);
  t.is(windowShiftFor(1 << 20), 5);
  t.is(windowShiftFor(65535), 0);
  t.is(windowShiftFor(1 << 30), 14);
  t.is(syn.window, 65535);
  h.take();
  h.input({ flags: TCP_FLAG_SYN | 0x10, seq: 500_000, ack: ISS + 1, window: 65535, mss: 1460, windowScale: 7, sackPermitted: true, hasTimestamps: true, tsVal: 1, tsEcr: syn.tsVal });
  t.is(h.tcb.sndWnd, 65535, 'the SYN-ACK window is not scaled');
  const ack = h.take()[0]!.f;
  t.is(ack.window, (1 << 20) >>> 5);
  h.send({ window: 100 });
  t.is(h.tcb.sndWnd, 100 << 7);
  // Without the peer's option, neither side scales.
  const g = new Harness({ recvBufferSize: 1 << 20 }, { ws: -1 }).openActive();
  t.false(g.tcb.wsOn);
  t.is(g.take().at(-1)!.f.window, 65535);
  g.send({ window: 100 });
  t.is(g.tcb.sndWnd, 100);
});

test('zero window: persist probes with backoff, data resumes when the window opens', (t) => {
  const h = new Harness({ rtoMinMs: 200, timestamps: false }, { window: 4000, ws: -1, ts: false }).openActive();
  h.take();
  h.write(10_000);
  const first = dataSegs(h);
  t.is(first.reduce((n, s) => n + s.data.length, 0), 2920, 'two full segments; the 1080-byte rest waits (sender SWS)');
  h.send({ ack: h.tcb.sndMax, window: 0 });
  t.is(h.tcb.sndWnd, 0);
  const t0 = h.clock.now();
  h.clock.advance(200 + 400 + 800 + 1600 + 10);
  const probes = h.take();
  t.deepEqual(probes.map((s) => s.at - t0), [200, 600, 1400, 3000]);
  t.true(probes.every((s) => s.data.length === 0 && s.f.seq === ((h.tcb.sndUna - 1) >>> 0)));
  t.is(h.tcb.state, TcpState.Established);
  h.send({ ack: h.tcb.sndMax, window: 4000 });
  const resumed = dataSegs(h);
  t.true(resumed.length >= 2);
  t.is(resumed[0]!.f.seq, ISS + 1 + 2920);
});

test('Nagle: a short segment waits while data is in flight, unless noDelay', (t) => {
  for (const noDelay of [false, true]) {
    const h = new Harness({ noDelay }).openActive();
    h.take();
    h.write(100);
    t.is(dataSegs(h).length, 1, 'nothing in flight: sent at once');
    h.write(100);
    t.is(dataSegs(h).length, noDelay ? 1 : 0);
    if (!noDelay) {
      h.send({ ack: ISS + 101 });
      const out = dataSegs(h);
      t.is(out.length, 1, 'sent when the first is acknowledged');
      t.is(out[0]!.data.length, 100);
      h.write(100);
      t.is(dataSegs(h).length, 0);
      h.tcb.setNoDelay(true);
      t.is(dataSegs(h).length, 1, 'setNoDelay(true) flushes what Nagle held');
    }
  }
});

test('a retransmitted FIN keeps its sequence number (go-pktkit defect c)', (t) => {
  const h = new Harness({ rtoMinMs: 200 }).openActive();
  h.take();
  h.write(100);
  h.tcb.shutdown();
  let out = dataSegs(h);
  t.deepEqual(out.map((s) => [s.f.seq, s.data.length, s.f.flags & TCP_FLAG_FIN]), [[ISS + 1, 100, 0], [ISS + 101, 0, TCP_FLAG_FIN]], 'write sent the data, shutdown the FIN');
  t.is(h.tcb.state, TcpState.FinWait1);
  h.clock.advance(200);
  out = dataSegs(h);
  t.is(out.length, 1);
  t.is(out[0]!.f.seq, ISS + 1);
  t.is(out[0]!.data.length, 100);
  t.is(out[0]!.f.flags & TCP_FLAG_FIN, TCP_FLAG_FIN, 'the RTO resends data and FIN together, FIN still at ISS + 101');
  h.send({ ack: ISS + 101 }); // the data, not the FIN
  for (let i = 0; i < 3; i++) {
    h.clock.advance(h.tcb.rto.rto);
    out = dataSegs(h);
    t.is(out.length, 1);
    t.is(out[0]!.f.seq, ISS + 101, 'the lone FIN, at the same place each time');
    t.is(out[0]!.data.length, 0);
  }
  h.send({ ack: ISS + 102 });
  t.is(h.tcb.state, TcpState.FinWait2);
});

test('FIN only after all queued data (go-pktkit defect d)', (t) => {
  const h = new Harness({ timestamps: false }, { window: 3000, ws: -1, ts: false }).openActive();
  h.take();
  h.write(10_000);
  h.tcb.shutdown();
  t.is(h.tcb.state, TcpState.FinWait1);
  const all: { seq: number; len: number; fin: boolean }[] = [];
  for (let i = 0; i < 20 && h.tcb.state === TcpState.FinWait1; i++) {
    for (const s of dataSegs(h)) all.push({ seq: s.f.seq, len: s.data.length, fin: (s.f.flags & TCP_FLAG_FIN) !== 0 });
    h.send({ ack: h.tcb.sndMax, window: 3000 });
  }
  const fins = all.filter((s) => s.fin);
  t.is(fins.length, 1);
  t.is(fins[0]!.seq + fins[0]!.len, ISS + 1 + 10_000, 'the FIN sits right after the last byte');
  t.true(all.indexOf(fins[0]!) === all.length - 1, 'nothing after the FIN');
  t.is(h.tcb.state, TcpState.FinWait2);
});

test('send buffer back-pressure: write takes what fits, onDrain when space frees', (t) => {
  const h = new Harness({ sendBufferSize: 8192 }, { window: 1 << 20 }).openActive();
  t.is(h.write(20_000), 8192);
  t.is(h.write(10), 0);
  h.send({ ack: h.tcb.sndMax });
  t.true(h.events.includes('drain'));
  t.true(h.tcb.writable > 0);
});

test('SND.WL1/WL2 (go-pktkit defect g): an older segment does not overwrite the send window', (t) => {
  const h = new Harness({}, { window: 50_000, ws: -1 }).openActive();
  h.send({ data: bytes(10), window: 40_000 });
  t.is(h.tcb.sndWnd, 40_000);
  // A reordered, older segment (lower SEQ) with a stale window.
  h.input({ seq: h.peerSeq - 10, ack: h.tcb.sndMax, flags: 0x10, window: 1000, hasTimestamps: true, tsVal: h.peerTs, tsEcr: 0 }, bytes(10));
  t.is(h.tcb.sndWnd, 40_000);
  h.send({ window: 30_000 });
  t.is(h.tcb.sndWnd, 30_000, 'a newer segment updates it');
});
