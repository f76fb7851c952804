/**
 * RFC 9293 §3.3.2 states and their transitions, TIME-WAIT, RST handling and RFC 5961's
 * blind-attack mitigations, PAWS (RFC 7323 §5).
 */
import test from 'ava';
import { TcpState } from '../../../src/vtcp/contract.js';
import { Tcb } from '../../../src/vtcp/tcb.js';
import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN } from '../../../src/wire/tcp.js';
import { makePair, prng, TcpSim } from '../../helpers/tcp-sim.js';
import { Harness, ISS, PEER_ISS, bytes } from './scripted.js';

const S = TcpState;

/** Records the state after every event of a Tcb in a pair. */
function watch(tcb: Tcb, out: string[]): void {
  let last = -1;
  const orig = tcb.input.bind(tcb);
  tcb.input = (f, p, o, l) => {
    orig(f, p, o, l);
    if (tcb.state !== last) out.push(tcb.stateName);
    last = tcb.state;
  };
}

test('active and passive open: SYN-SENT -> ESTABLISHED, SYN-RECEIVED -> ESTABLISHED', (t) => {
  const p = makePair();
  const sa: string[] = [];
  const sb: string[] = [];
  watch(p.a.tcb, sa);
  watch(p.b.tcb, sb);
  p.a.tcb.connect(1234, 80, 100);
  t.is(p.a.tcb.state, S.SynSent);
  p.sim.run(() => p.b.tcb.state !== S.Closed);
  t.is(p.b.tcb.state, S.SynReceived);
  t.true(p.sim.run(() => p.a.established && p.b.established));
  t.deepEqual(sa, ['ESTABLISHED']);
  t.deepEqual(sb, ['ESTABLISHED']);
  t.true(p.a.tcb.sackOn && p.a.tcb.tsOn && p.a.tcb.wsOn);
});

test('simultaneous open: both SYN-SENT -> SYN-RECEIVED -> ESTABLISHED (RFC 9293 figure 8)', (t) => {
  const sim = new TcpSim({ ab: { delayMs: 10 } });
  const mk = (sink: typeof sim.sinkA) => new Tcb(sink, { clock: sim.clock, random: prng(3) }, {});
  const a = mk(sim.sinkA);
  const b = mk(sim.sinkB);
  const sa: string[] = [];
  const sb: string[] = [];
  watch(a, sa);
  watch(b, sb);
  sim.toA = (f, p, o, l) => a.input(f, p, o, l);
  sim.toB = (f, p, o, l) => b.input(f, p, o, l);
  a.connect(5000, 6000, 111);
  b.connect(6000, 5000, 999_999);
  t.true(sim.run(() => a.state === S.Established && b.state === S.Established, 10_000));
  t.deepEqual(sa, ['SYN-RECEIVED', 'ESTABLISHED']);
  t.deepEqual(sb, ['SYN-RECEIVED', 'ESTABLISHED']);
  t.is(a.rcvNxt, 1_000_000);
  t.is(b.rcvNxt, 112);
  // Data flows both ways afterwards.
  a.write(bytes(10), 0, 10);
  b.write(bytes(20), 0, 20);
  sim.run(() => a.readable === 20 && b.readable === 10, 10_000);
  t.is(a.readable, 20);
  t.is(b.readable, 10);
});

const closeCase = test.macro({
  exec(t, kind: 'active' | 'simultaneous', wantA: string[], wantB: string[]) {
    const p = makePair({ a: { timeWaitMs: 5000 }, b: { timeWaitMs: 5000 } });
    t.true(p.connect());
    const sa: string[] = [];
    const sb: string[] = [];
    const rec = (tcb: Tcb, out: string[]) => {
      const orig = tcb.input.bind(tcb);
      tcb.input = (f, q, o, l) => {
        const before = tcb.state;
        orig(f, q, o, l);
        if (tcb.state !== before) out.push(tcb.stateName);
      };
    };
    rec(p.a.tcb, sa);
    rec(p.b.tcb, sb);
    p.a.tcb.shutdown();
    sa.push(p.a.tcb.stateName);
    if (kind === 'simultaneous') {
      p.b.tcb.shutdown();
      sb.push(p.b.tcb.stateName);
    } else {
      p.sim.run(() => p.b.tcb.state === S.CloseWait);
      p.b.tcb.shutdown();
      sb.push(p.b.tcb.stateName);
    }
    p.sim.run(() => p.a.tcb.state === S.TimeWait && p.b.tcb.state !== S.CloseWait && p.b.tcb.state !== S.LastAck && p.b.tcb.state !== S.Closing && p.b.tcb.state !== S.FinWait1);
    t.deepEqual(sa, wantA);
    t.deepEqual(sb, wantB);
    t.true(p.a.ended && p.b.ended);
    t.true(p.a.closed, 'A reported the close at TIME-WAIT');
    t.is(p.a.closeReason, null);
  },
  title: (_p, kind) => `${kind} close`,
});
test(closeCase, 'active', ['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT'], ['CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
test(closeCase, 'simultaneous', ['FIN-WAIT-1', 'CLOSING', 'TIME-WAIT'], ['FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);

test('half-close: data keeps flowing toward the side that sent FIN', (t) => {
  const p = makePair();
  t.true(p.connect());
  p.a.tcb.shutdown();
  p.sim.run(() => p.b.ended);
  t.is(p.b.tcb.state, S.CloseWait);
  p.b.sendBytes = 100_000;
  p.b.shutdownWhenDone = true;
  p.b.pump();
  t.true(p.sim.run(() => p.a.received === 100_000 && p.a.ended));
  t.is(p.a.mismatchAt, -1);
});

test('TIME-WAIT lasts timeWaitMs, and a retransmitted FIN restarts it', (t) => {
  const h = new Harness({ timeWaitMs: 4000 }).openActive();
  h.tcb.shutdown();
  const fin = h.take().find((s) => s.f.flags & TCP_FLAG_FIN)!;
  h.send({ ack: fin.f.seq + 1 });
  t.is(h.tcb.state, S.FinWait2);
  h.send({ flags: TCP_FLAG_ACK | TCP_FLAG_FIN });
  t.is(h.tcb.state, S.TimeWait);
  const enteredAt = h.clock.now();
  h.clock.advance(3000);
  t.is(h.tcb.state, S.TimeWait);
  // The peer did not get our ACK: its FIN comes again; we ACK it and wait 2 MSL from now.
  h.take();
  h.send({ seq: h.peerSeq - 1, flags: TCP_FLAG_ACK | TCP_FLAG_FIN });
  const acks = h.take();
  t.is(acks.length, 1);
  t.is(acks[0]!.f.ack, h.peerSeq);
  h.clock.advance(3999);
  t.is(h.tcb.state, S.TimeWait);
  h.clock.advance(1);
  t.is(h.tcb.state, S.Closed);
  t.is(h.clock.now() - enteredAt, 7000);
  t.deepEqual(h.events.filter((e) => e.startsWith('close')), ['close:null']);
});

// --- RST handling (RFC 9293 §3.10.7.3/4, RFC 5961 §3)

test('SYN-SENT: RST with an acceptable ACK refuses the connection; without ACK it is ignored', (t) => {
  const h = new Harness();
  h.tcb.connect(1, 2, ISS);
  h.input({ flags: TCP_FLAG_RST, seq: 0 });
  t.is(h.tcb.state, S.SynSent);
  h.input({ flags: TCP_FLAG_RST | TCP_FLAG_ACK, seq: 0, ack: ISS + 5 });
  t.is(h.tcb.state, S.SynSent, 'unacceptable ACK');
  h.input({ flags: TCP_FLAG_RST | TCP_FLAG_ACK, seq: 0, ack: ISS + 1 });
  t.is(h.tcb.state, S.Closed);
  t.is(h.closeReason, 'ECONNREFUSED');
});

test('SYN-SENT: an ACK of something never sent draws <SEQ=SEG.ACK><CTL=RST>', (t) => {
  const h = new Harness();
  h.tcb.connect(1, 2, ISS);
  h.take();
  h.input({ flags: TCP_FLAG_SYN | TCP_FLAG_ACK, seq: PEER_ISS, ack: ISS + 77 });
  const out = h.take();
  t.is(out.length, 1);
  t.is(out[0]!.f.flags, TCP_FLAG_RST);
  t.is(out[0]!.f.seq, ISS + 77);
  t.is(h.tcb.state, S.SynSent);
});

const rstCase = test.macro({
  exec(t, offset: number, want: 'reset' | 'challenge' | 'ignored') {
    const h = new Harness().openActive();
    h.take();
    h.input({ flags: TCP_FLAG_RST, seq: (h.peerSeq + offset) >>> 0 });
    const out = h.take();
    if (want === 'reset') {
      t.is(h.tcb.state, S.Closed);
      t.is(h.closeReason, 'ECONNRESET');
      t.is(out.length, 0);
    } else if (want === 'challenge') {
      t.is(h.tcb.state, S.Established);
      t.is(out.length, 1);
      t.is(out[0]!.f.flags, TCP_FLAG_ACK);
      t.is(out[0]!.f.ack, h.peerSeq);
      t.is(h.tcb.stats().challengeAcks, 1);
    } else {
      t.is(h.tcb.state, S.Established);
      t.is(out.length, 0);
      t.is(h.tcb.stats().drops.rstOutOfWindow, 1);
    }
  },
  title: (_p, offset: number, want: string) => `RST at RCV.NXT${offset >= 0 ? '+' : ''}${offset}: ${want}`,
});
test(rstCase, 0, 'reset');
test(rstCase, 1, 'challenge');
test(rstCase, 60_000, 'challenge');
test(rstCase, -1, 'ignored');
test(rstCase, 10_000_000, 'ignored');

test('RST in CLOSE-WAIT resets; in LAST-ACK it just closes', (t) => {
  const h = new Harness().openActive();
  h.send({ flags: TCP_FLAG_ACK | TCP_FLAG_FIN });
  t.is(h.tcb.state, S.CloseWait);
  h.input({ flags: TCP_FLAG_RST, seq: h.peerSeq });
  t.is(h.closeReason, 'ECONNRESET');
  const g = new Harness().openActive();
  g.send({ flags: TCP_FLAG_ACK | TCP_FLAG_FIN });
  g.tcb.shutdown();
  t.is(g.tcb.state, S.LastAck);
  g.input({ flags: TCP_FLAG_RST, seq: g.peerSeq });
  t.is(g.tcb.state, S.Closed);
  t.is(g.closeReason, null);
});

test('RFC 5961 §4: a SYN in ESTABLISHED draws a challenge ACK and changes nothing', (t) => {
  const h = new Harness().openActive();
  h.take();
  h.input({ flags: TCP_FLAG_SYN, seq: h.peerSeq + 100 });
  const out = h.take();
  t.is(out.length, 1);
  t.is(out[0]!.f.flags, TCP_FLAG_ACK);
  t.is(h.tcb.state, S.Established);
  t.is(h.tcb.stats().drops.synInWindow, 1);
});

test('RFC 5961 §5.2: an ACK beyond SND.MAX or older than MAX.SND.WND draws a challenge ACK and is dropped', (t) => {
  const h = new Harness({}, { window: 4096, ws: -1 }).openActive();
  h.write(1000);
  h.take();
  h.send({ ack: ISS + 1 + 5000, data: bytes(10) });
  t.is(h.tcb.readable, 0, 'the data of a segment with an unacceptable ACK is dropped too');
  t.is(h.tcb.stats().drops.ackUnsent, 1);
  h.send({ seq: h.peerSeq - 10, ack: (ISS + 1 - 100_000) >>> 0 });
  t.is(h.tcb.stats().drops.ackTooOld, 1);
  t.is(h.take().length, 2);
  t.is(h.tcb.sndUna, ISS + 1);
});

test('RFC 5961 §7: challenge ACKs are rate-limited to 10 per second', (t) => {
  const h = new Harness().openActive();
  h.take();
  for (let i = 0; i < 25; i++) h.input({ flags: TCP_FLAG_RST, seq: h.peerSeq + 1 + i });
  t.is(h.take().length, 10);
  t.is(h.tcb.stats().challengeAcks, 10);
  t.is(h.tcb.stats().drops.challengeLimit, 15);
  h.clock.advance(1000);
  for (let i = 0; i < 5; i++) h.input({ flags: TCP_FLAG_RST, seq: h.peerSeq + 1 + i });
  t.is(h.take().length, 5);
  t.is(h.tcb.state, S.Established);
});

test('SYN-RECEIVED: a retransmitted SYN gets the SYN-ACK again; an RST at RCV.NXT drops the embryo', (t) => {
  const h = new Harness();
  h.tcb.acceptSyn({ ...h.tcb.out, srcPort: 80, dstPort: 40000, seq: PEER_ISS, flags: TCP_FLAG_SYN, mss: 1460, windowScale: -1, sackPermitted: false, hasTimestamps: false, window: 1000, sackCount: 0 }, new Uint8Array(0), 0, 0, ISS);
  h.take();
  h.input({ flags: TCP_FLAG_SYN, seq: PEER_ISS });
  const out = h.take();
  t.is(out.length, 1);
  t.is(out[0]!.f.flags, TCP_FLAG_SYN | TCP_FLAG_ACK);
  t.is(out[0]!.f.seq, ISS);
  h.input({ flags: TCP_FLAG_RST, seq: PEER_ISS + 1 });
  t.is(h.tcb.state, S.Closed);
});

// --- PAWS (RFC 7323 §5.3)

test('PAWS: a segment whose TSval is older than TS.Recent is dropped and answered with an ACK', (t) => {
  const h = new Harness().openActive();
  h.send({ data: bytes(100) });
  t.is(h.tcb.readable, 100);
  const recent = h.tcb.tsRecent;
  h.take();
  h.input({ flags: TCP_FLAG_ACK, seq: h.peerSeq, ack: h.tcb.sndMax, window: 1000, hasTimestamps: true, tsVal: (recent - 5) >>> 0, tsEcr: 0 }, bytes(50));
  t.is(h.tcb.readable, 100);
  t.is(h.tcb.stats().drops.paws, 1);
  const out = h.take();
  t.is(out.length, 1);
  t.is(out[0]!.f.ack, h.peerSeq);
  // The same segment with a fresh TSval is accepted, and TS.Recent moves (RFC 7323 §4.3).
  h.input({ flags: TCP_FLAG_ACK, seq: h.peerSeq, ack: h.tcb.sndMax, window: 1000, hasTimestamps: true, tsVal: (recent + 5) >>> 0, tsEcr: 0 }, bytes(50));
  t.is(h.tcb.readable, 150);
  t.is(h.tcb.tsRecent, (recent + 5) >>> 0);
  t.is(h.tcb.stats().drops.paws, 1, 'no further PAWS drop');
});

test('a segment without ACK in a synchronized state is dropped', (t) => {
  const h = new Harness().openActive();
  h.send({ flags: 0, data: bytes(10) });
  t.is(h.tcb.readable, 0);
  t.is(h.tcb.stats().drops.noAck, 1);
});

test('abort sends RST and reports ECONNABORTED; close with unread data resets', (t) => {
  const h = new Harness().openActive();
  h.take();
  h.tcb.abort();
  const out = h.take();
  t.is(out.length, 1);
  t.true((out[0]!.f.flags & TCP_FLAG_RST) !== 0);
  t.is(out[0]!.f.seq, ISS + 1);
  t.is(h.closeReason, 'ECONNABORTED');
  const g = new Harness().openActive();
  g.send({ data: bytes(10) });
  g.take();
  g.tcb.close();
  t.true((g.take()[0]!.f.flags & TCP_FLAG_RST) !== 0);
  t.is(g.tcb.state, S.Closed);
});
