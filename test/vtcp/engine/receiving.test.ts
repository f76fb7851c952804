/**
 * The receive side against a scripted peer: delayed ACKs (RFC 5681 §4.2), the window update
 * after read (go-pktkit defect f), receiver SWS avoidance, bounded reassembly, out-of-order FIN,
 * data in a SYN, SACK blocks (RFC 2018 §4), and keepalive (RFC 9293 §3.8.4).
 */
import test from 'ava';
import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN } from '../../../src/wire/tcp.js';
import { seg } from '../../helpers/tcp-sim.js';
import { Harness, ISS, PEER_ISS, TcpState, bytes } from './scripted.js';

const MSS = 1448;

const delackCase = test.macro({
  exec(t, segments: number[], delayedAckMs: number, wantAcksAt: number[]) {
    const h = new Harness({ delayedAckMs }).openActive();
    h.take();
    const t0 = h.clock.now();
    for (const len of segments) h.send({ data: bytes(len) });
    h.clock.advance(500);
    const acks = h.take().map((s) => s.at - t0);
    t.deepEqual(acks, wantAcksAt);
  },
  title: (_p, segments: number[], ms: number, want: number[]) => `delayed ACK (${ms} ms): segments ${segments.join('+')} -> ACKs at ${want.join(', ')} ms`,
});
test(delackCase, [MSS], 40, [40]);
test(delackCase, [MSS, MSS], 40, [0]);
test(delackCase, [MSS, MSS, MSS], 40, [0, 40]);
test(delackCase, [100], 200, [200]);
test(delackCase, [MSS], 0, [0]);

test('delayed ACK: an out-of-order segment and the one filling the hole are ACKed at once', (t) => {
  const h = new Harness().openActive();
  h.take();
  const base = h.peerSeq;
  h.send({ seq: base + 1000, data: bytes(1000) });
  let out = h.take();
  t.is(out.length, 1);
  t.is(out[0]!.f.ack, base, 'a duplicate ACK');
  t.deepEqual([...out[0]!.f.sackBlocks.subarray(0, 2)], [base + 1000, base + 2000], 'with the SACK block (RFC 2018)');
  t.is(h.tcb.stats().outOfOrder, 1);
  h.send({ seq: base, data: bytes(1000) });
  out = h.take();
  t.is(out.length, 1);
  t.is(out[0]!.f.ack, base + 2000);
  t.is(out[0]!.f.sackCount, 0);
  t.is(h.tcb.readable, 2000);
});

test('SACK blocks: the most recent first, at most 3 with timestamps (RFC 2018 §4)', (t) => {
  const h = new Harness().openActive();
  const base = h.peerSeq;
  for (const k of [2, 4, 6, 8]) h.send({ seq: base + k * 100, data: bytes(100) });
  const last = h.take().at(-1)!.f;
  t.is(last.sackCount, 3, 'three fit beside the timestamps option');
  t.deepEqual([...last.sackBlocks.subarray(0, 6)], [base + 800, base + 900, base + 600, base + 700, base + 400, base + 500]);
});

test('window update after read (go-pktkit defect f): sent as soon as the window can open by 2 MSS', (t) => {
  const h = new Harness({ recvBufferSize: 16 * 1024 }, { ws: -1 }).openActive();
  for (let i = 0; i < 16; i++) h.send({ data: bytes(1024) });
  t.is(h.tcb.readable, 16 * 1024);
  const full = h.take().at(-1)!.f;
  t.is(full.window, 0, 'the window closed');
  const buf = new Uint8Array(16 * 1024);
  h.tcb.read(buf, 0, 1000);
  t.is(h.take().length, 0, 'too little freed: no update (receiver SWS avoidance)');
  h.tcb.read(buf, 0, 2000);
  const upd = h.take();
  t.is(upd.length, 1, 'a window update once 2 MSS are free');
  t.is(upd[0]!.f.window, 3000);
  t.is(upd[0]!.f.ack, h.peerSeq);
});

test('bounded reassembly: out-of-order ranges beyond maxOutOfOrder are dropped and counted', (t) => {
  const h = new Harness({ maxOutOfOrder: 4 }).openActive();
  const base = h.peerSeq;
  for (let k = 1; k <= 6; k++) h.send({ seq: base + k * 200, data: bytes(100) });
  t.is(h.tcb.stats().drops.oooFull, 2);
  t.is(h.tcb.recvBuf.outOfOrderRanges, 4);
  h.send({ seq: base, data: bytes(200) });
  t.is(h.tcb.readable, 300, 'the hole filled joins the first held range');
});

test('an out-of-order FIN waits for the missing data', (t) => {
  const h = new Harness().openActive();
  const base = h.peerSeq;
  h.send({ seq: base + 100, data: bytes(100), flags: TCP_FLAG_ACK | TCP_FLAG_FIN });
  t.is(h.tcb.state, TcpState.Established);
  t.false(h.events.includes('end'));
  h.send({ seq: base, data: bytes(100) });
  t.is(h.tcb.state, TcpState.CloseWait);
  t.true(h.events.includes('end'));
  t.is(h.tcb.readable, 200);
  t.is(h.take().at(-1)!.f.ack, base + 201);
});

test('data in a SYN is kept and delivered once established', (t) => {
  const h = new Harness();
  const syn = seg({ srcPort: 80, dstPort: 40000, flags: TCP_FLAG_SYN, seq: PEER_ISS, mss: 1460, window: 65535 });
  h.tcb.acceptSyn(syn, bytes(5, 0x7a), 0, 5, ISS);
  t.is(h.sink.last!.f.ack, PEER_ISS + 6);
  t.false(h.events.includes('readable'));
  h.input({ flags: TCP_FLAG_ACK, seq: PEER_ISS + 6, ack: ISS + 1, window: 65535 });
  t.deepEqual(h.events.slice(0, 2), ['established', 'readable']);
  const b = new Uint8Array(10);
  t.is(h.tcb.read(b, 0, 10), 5);
  t.is(b[0], 0x7a);
});

test('after close(), new data is answered with RST', (t) => {
  const h = new Harness().openActive();
  h.tcb.close();
  t.is(h.tcb.state, TcpState.FinWait1);
  h.take();
  h.send({ data: bytes(10) });
  t.true(h.take().some((s) => (s.f.flags & TCP_FLAG_RST) !== 0));
  t.is(h.tcb.state, TcpState.Closed);
});

test('keepalive: probes after idle, every interval, then ETIMEDOUT and RST', (t) => {
  const h = new Harness({ keepalive: { idleMs: 10_000, intervalMs: 1000, probes: 3 } }).openActive();
  h.take();
  const t0 = h.clock.now();
  h.clock.advance(9_999);
  t.is(h.take().length, 0);
  h.clock.advance(1);
  let out = h.take();
  t.is(out.length, 1);
  t.is(out[0]!.f.seq, ISS, 'probe at SND.UNA - 1');
  t.is(out[0]!.data.length, 0);
  // An answer resets the count and the idle time.
  h.send({});
  h.clock.advance(9_999);
  t.is(h.take().length, 0);
  h.clock.advance(1 + 1000 + 1000 + 1000);
  out = h.take();
  t.is(out.length, 4);
  t.deepEqual(out.map((s) => s.at - t0), [20_000, 21_000, 22_000, 23_000]);
  t.true((out[3]!.f.flags & TCP_FLAG_RST) !== 0);
  t.is(h.closeReason, 'ETIMEDOUT');
});

test('setKeepAlive turns probes on later and off again', (t) => {
  const h = new Harness().openActive();
  h.tcb.setKeepAlive(true, 5000, 500, 2);
  h.take();
  h.clock.advance(5000);
  t.is(h.take().length, 1);
  h.tcb.setKeepAlive(false);
  h.clock.advance(60_000);
  t.is(h.take().length, 0);
  t.is(h.tcb.state, TcpState.Established);
});
