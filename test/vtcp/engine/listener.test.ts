/**
 * Listener: the bounded backlog, SYN cookies under a SYN flood (RFC 4987 §3.6), the accept queue,
 * and RSTs for stray ACKs.
 */
import test from 'ava';
import { TcpState, type SegmentSink } from '../../../src/vtcp/contract.js';
import { Listener } from '../../../src/vtcp/listener.js';
import { Tcb } from '../../../src/vtcp/tcb.js';
import { TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN, type TcpFields } from '../../../src/wire/tcp.js';
import { Endpoint, TcpSim, prng, seg } from '../../helpers/tcp-sim.js';

const SERVER = new Uint8Array([10, 0, 0, 2]);
const CLIENT = new Uint8Array([10, 0, 0, 1]);
const PORT = 8080;

class CountingSink implements SegmentSink {
  n = 0;
  flags: number[] = [];
  emit(f: TcpFields): void {
    this.n++;
    this.flags.push(f.flags);
  }
}

/** A server side: a Listener, with accepted Tcbs routed by remote port (a minimal stack). */
function server(sim: TcpSim, opts: Partial<ConstructorParameters<typeof Listener>[0]> = {}) {
  const discard = new CountingSink();
  const accepted = new Map<number, Tcb>();
  const l = new Listener({
    port: PORT,
    clock: sim.clock,
    newSink: (_l, _r, remotePort) => (remotePort >= 40000 ? sim.sinkB : discard),
    ...opts,
  });
  sim.toB = (f, p, o, len) => {
    const t = accepted.get(f.srcPort);
    if (t !== undefined) t.input(f, p, o, len);
    else l.input(f, p, o, len, SERVER, CLIENT, sim.sinkB);
  };
  return { l, accepted, discard };
}

function client(sim: TcpSim, port: number): Endpoint {
  const e = new Endpoint(sim.sinkA, { clock: sim.clock, random: prng(port) }, 5, 6);
  const prev = sim.toA;
  sim.toA = (f, p, o, len) => (f.dstPort === port ? e.tcb.input(f, p, o, len) : prev(f, p, o, len));
  return e;
}

function floodSyn(l: Listener, srcPort: number, reply: SegmentSink): void {
  const f = seg({ srcPort, dstPort: PORT, flags: TCP_FLAG_SYN, seq: srcPort * 1000, mss: 1460, window: 65535, windowScale: 7, sackPermitted: true, hasTimestamps: true, tsVal: 1 });
  l.input(f, new Uint8Array(0), 0, 0, SERVER, CLIENT, reply);
}

test('SYN flood: the backlog stays bounded, cookies answer the rest, and a real client still connects', (t) => {
  const sim = new TcpSim({ ab: { delayMs: 2 } });
  const { l, accepted } = server(sim, { backlog: 8 });
  const replies = new CountingSink();
  for (let p = 1000; p < 1200; p++) floodSyn(l, p, replies);
  t.is(l.stats.syns, 200);
  t.is(l.halfOpen, 8);
  t.is(l.stats.cookiesSent, 192);
  t.is(replies.n, 192, 'cookie SYN-ACKs go out through the reply sink');
  t.true(replies.flags.every((f) => f === (TCP_FLAG_SYN | TCP_FLAG_ACK)));

  const c = client(sim, 40000);
  c.tcb.connect(40000, PORT, 123_456);
  t.true(sim.run(() => l.pending === 1, 10_000));
  t.is(l.stats.cookiesAccepted, 1);
  t.is(l.halfOpen, 8, 'the cookie connection never took a backlog slot');
  const a = l.accept()!;
  t.is(a.remotePort, 40000);
  t.deepEqual([...a.remote], [...CLIENT]);
  t.is(a.tcb.state, TcpState.Established);
  t.false(a.tcb.sackOn || a.tcb.tsOn || a.tcb.wsOn, 'a cookie negotiates the MSS only');
  t.is(a.tcb.segMss, 1460);
  t.true(c.established);
  t.false(c.tcb.sackOn, 'the client sees no SACK-permitted in the cookie SYN-ACK');
  // Data both ways over the cookie connection.
  accepted.set(40000, a.tcb);
  const srv = new Endpoint(sim.sinkB, { clock: sim.clock }, 6, 5);
  a.tcb.events = srv.tcb.events; // route the accepted Tcb's events to a checker
  (srv as unknown as { tcb: Tcb }).tcb = a.tcb;
  srv.sendBytes = 200_000;
  c.sendBytes = 300_000;
  srv.shutdownWhenDone = c.shutdownWhenDone = true;
  srv.pump();
  c.pump();
  t.true(sim.run(() => srv.received === 300_000 && c.received === 200_000 && srv.ended && c.ended, 60_000));
  t.is(srv.mismatchAt, -1);
  t.is(c.mismatchAt, -1);
});

test("synCookies 'never': SYNs beyond the backlog are dropped", (t) => {
  const sim = new TcpSim();
  const { l } = server(sim, { backlog: 4, synCookies: 'never' });
  const replies = new CountingSink();
  for (let p = 1000; p < 1010; p++) floodSyn(l, p, replies);
  t.is(l.halfOpen, 4);
  t.is(l.stats.backlogDrops, 6);
  t.is(replies.n, 0);
});

test("synCookies 'always': every SYN gets a cookie, no state is kept", (t) => {
  const sim = new TcpSim();
  const { l } = server(sim, { synCookies: 'always' });
  const replies = new CountingSink();
  for (let p = 1000; p < 1010; p++) floodSyn(l, p, replies);
  t.is(l.halfOpen, 0);
  t.is(l.stats.cookiesSent, 10);
});

test('an ACK with a forged cookie gets an RST and creates nothing', (t) => {
  const sim = new TcpSim();
  const { l } = server(sim);
  const replies = new CountingSink();
  const f = seg({ srcPort: 5555, dstPort: PORT, flags: TCP_FLAG_ACK, seq: 1, ack: 0xdeadbeef, window: 1000 });
  l.input(f, new Uint8Array(0), 0, 0, SERVER, CLIENT, replies);
  t.deepEqual(replies.flags, [TCP_FLAG_RST]);
  t.is(l.stats.cookiesRejected, 1);
  t.is(l.pending, 0);
});

test('normal accept: the handshake through the backlog keeps SACK, timestamps and window scaling', (t) => {
  const sim = new TcpSim();
  const { l } = server(sim);
  let notified = 0;
  l.onConnection = () => notified++;
  const c = client(sim, 40001);
  c.tcb.connect(40001, PORT, 77);
  t.is(l.halfOpen, 0);
  sim.run(() => l.halfOpen === 1, 1000);
  t.is(l.halfOpen, 1);
  t.true(sim.run(() => l.pending === 1, 1000));
  t.is(notified, 1);
  t.is(l.halfOpen, 0);
  const a = l.accept()!;
  t.true(a.tcb.sackOn && a.tcb.tsOn && a.tcb.wsOn);
  t.is(l.accept(), null);
});

test('the accept queue is bounded: SYNs are dropped while it is full', (t) => {
  const sim = new TcpSim();
  const { l } = server(sim, { acceptQueue: 2 });
  const cs = [40001, 40002, 40003].map((p) => client(sim, p));
  cs[0]!.tcb.connect(40001, PORT, 1000);
  cs[1]!.tcb.connect(40002, PORT, 2000);
  t.true(sim.run(() => l.pending === 2, 500));
  cs[2]!.tcb.connect(40003, PORT, 3000);
  sim.run(() => false, 500);
  t.is(l.pending, 2);
  t.is(l.stats.acceptQueueDrops, 1);
  t.false(cs[2]!.established);
  l.accept();
  sim.run(() => cs[2]!.established, 10_000);
  t.true(cs[2]!.established, 'the third connects once there is room (its SYN retransmitted)');
});

test('a half-open connection that times out frees its backlog slot', (t) => {
  const sim = new TcpSim();
  const { l } = server(sim, { backlog: 2, tcb: { rtoMinMs: 200, rtoInitialMs: 200 } });
  const replies = new CountingSink();
  floodSyn(l, 1000, replies);
  floodSyn(l, 1001, replies);
  t.is(l.halfOpen, 2);
  sim.clock.advance(200 * (2 ** 7));
  t.is(l.halfOpen, 0);
});
