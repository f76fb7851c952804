/**
 * Conn: the node:stream Duplex over a Tcb, over the simulated link. The simulation runs in
 * slices with the event loop turning between them, so stream callbacks (nextTick, microtasks)
 * interleave with segment delivery as they would over real I/O.
 */
import test from 'ava';
import { Conn, ConnError } from '../../../src/vtcp/conn.js';
import { TcpState, type TcbOptions } from '../../../src/vtcp/contract.js';
import { Tcb } from '../../../src/vtcp/tcb.js';
import { TCP_FLAG_ACK, TCP_FLAG_SYN } from '../../../src/wire/tcp.js';
import { Pattern, TcpSim, prng } from '../../helpers/tcp-sim.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

function pair(opts: Partial<TcbOptions> = {}) {
  const sim = new TcpSim({ ab: { delayMs: 2, bytesPerMs: 50_000 } });
  const a = new Tcb(sim.sinkA, { clock: sim.clock, random: prng(1), ...opts });
  const b = new Tcb(sim.sinkB, { clock: sim.clock, random: prng(2), ...opts });
  sim.toA = (f, p, o, l) => a.input(f, p, o, l);
  sim.toB = (f, p, o, l) => {
    if (b.state === TcpState.Closed && b.sndMax === 0) {
      if ((f.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) === TCP_FLAG_SYN) b.acceptSyn(f, p, o, l, 5555);
      return;
    }
    b.input(f, p, o, l);
  };
  const ca = new Conn(a);
  const cb = new Conn(b);
  ca.remoteAddress = '10.0.0.2';
  cb.remoteAddress = '10.0.0.1';
  return { sim, a, b, ca, cb };
}

/** Alternates simulated time slices and event-loop turns until `done()` or the budget ends. */
async function drive(sim: TcpSim, done: () => boolean, maxMs = 60_000): Promise<boolean> {
  const end = sim.clock.now() + maxMs;
  while (!done() && sim.clock.now() < end) {
    sim.run(done, 5);
    await tick();
  }
  return done();
}

test('connect, 2 MB each way through the streams byte-exact, end, close', async (t) => {
  const { sim, a, ca, cb } = pair({ timeWaitMs: 100 });
  let connected = 0;
  ca.on('connect', () => connected++);
  cb.on('connect', () => connected++);
  a.connect(40000, 80, 1);
  t.true(await drive(sim, () => connected === 2));
  t.is(ca.localPort, 40000);
  t.is(cb.remotePort, 40000);
  const N = 2 << 20;
  const sendAll = async (c: Conn, seed: number) => {
    const p = new Pattern(seed);
    for (let off = 0; off < N; off += 50_000) {
      const buf = Buffer.alloc(Math.min(50_000, N - off));
      p.fill(buf, off, buf.length);
      if (!c.write(buf)) await new Promise((r) => c.once('drain', r));
    }
    c.end();
  };
  const collect = (c: Conn, seed: number) => {
    const st = { got: 0, bad: -1, ended: false, closed: false };
    const p = new Pattern(seed);
    c.on('data', (d: Buffer) => {
      if (st.bad < 0) {
        const m = p.mismatch(d, st.got, d.length);
        if (m >= 0) st.bad = st.got + m;
      }
      st.got += d.length;
    });
    c.on('end', () => (st.ended = true));
    c.on('close', () => (st.closed = true));
    return st;
  };
  const ra = collect(ca, 2);
  const rb = collect(cb, 1);
  void sendAll(ca, 1);
  void sendAll(cb, 2);
  t.true(await drive(sim, () => ra.ended && rb.ended && ra.closed && rb.closed, 120_000), `got ${ra.got} ${rb.got}`);
  t.is(ra.got, N);
  t.is(rb.got, N);
  t.is(ra.bad, -1);
  t.is(rb.bad, -1);
});

test('back-pressure: a reader that stops closes the window; the writer buffers, then resumes', async (t) => {
  const { sim, a, b, ca, cb } = pair({ recvBufferSize: 64 * 1024, sendBufferSize: 64 * 1024 });
  a.connect(40000, 80, 1);
  await drive(sim, () => ca.connected && cb.connected);
  cb.pause();
  let wrote = 0;
  let full = false;
  for (let i = 0; i < 40 && !full; i++) {
    full = !ca.write(Buffer.alloc(16 * 1024, 1));
    wrote += 16 * 1024;
  }
  await drive(sim, () => a.sndWnd === 0, 5000);
  t.is(a.sndWnd, 0, "the receiver's window closed");
  t.true(b.readable > 0);
  t.true(full, 'write() returned false');
  let got = 0;
  cb.on('data', (d: Buffer) => (got += d.length));
  cb.resume();
  t.true(await drive(sim, () => got === wrote, 30_000), `${got} of ${wrote}`);
});

test('destroy() resets: the peer gets ECONNRESET', async (t) => {
  const { sim, a, ca, cb } = pair();
  a.connect(40000, 80, 1);
  await drive(sim, () => ca.connected && cb.connected);
  let err: ConnError | null = null;
  cb.on('error', (e: ConnError) => (err = e));
  let closed = false;
  cb.on('close', () => (closed = true));
  ca.destroy();
  t.true(await drive(sim, () => closed, 5000));
  t.is((err as ConnError | null)?.code, 'ECONNRESET');
  t.is(a.state, TcpState.Closed);
});

test('setTimeout emits timeout after idleness; setNoDelay and setKeepAlive reach the Tcb', async (t) => {
  const { sim, a, ca, cb } = pair();
  a.connect(40000, 80, 1);
  await drive(sim, () => ca.connected && cb.connected);
  let timeouts = 0;
  ca.setTimeout(1000, () => timeouts++);
  sim.advance(999);
  t.is(timeouts, 0);
  sim.advance(2);
  t.is(timeouts, 1);
  ca.setTimeout(0);
  t.is(ca.setNoDelay(true), ca);
  t.true(a.noDelay);
  ca.setKeepAlive(true, 30_000);
  t.true(a.keepalive);
  t.is(a.keepIdleMs, 30_000);
  ca.destroy();
  cb.destroy();
});
