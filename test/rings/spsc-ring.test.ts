/**
 * SpscRing on one thread: both ends in the same thread, so every interleaving is the test's
 * choice. What crosses threads is in stress.test.ts.
 */

import test from 'ava';
import fc from 'fast-check';
import {
  Doorbell,
  RingConsumer,
  RingProducer,
  closeRing,
  createRing,
  ringStats,
  type RingDescriptor,
  type RingOptions,
} from '../../rings/index.js';
import { checkFrame, makeFrame } from '../helpers/ring-frames.js';

/** Polls everything (or up to `max`) and returns copies of the frames. */
function drain(c: RingConsumer, max?: number): number[][] {
  const out: number[][] = [];
  c.poll((f) => out.push([...f]), max);
  return out;
}

function frames(...lens: number[]): Uint8Array[] {
  return lens.map((len, seq) => makeFrame(seq, len));
}

function pair(opts: RingOptions = {}, policy: 'drop' | 'wait' = 'drop'): { d: RingDescriptor; p: RingProducer; c: RingConsumer } {
  const d = createRing({ slots: 4, slotSize: 64, headroom: 16, ...opts });
  return { d, p: new RingProducer(d, { policy }), c: new RingConsumer(d) };
}

// ---------------------------------------------------------------------------------------------
// createRing

const badOptions = test.macro({
  exec(t, opts: RingOptions, field: string) {
    const e = t.throws(() => createRing(opts), { instanceOf: RangeError });
    t.regex(e?.message ?? '', new RegExp(`^SpscRing: ${field} `));
  },
  title: (_ = '', opts: RingOptions, field: string) => `createRing(${JSON.stringify(opts)}) throws a RangeError naming ${field}`,
});
test(badOptions, { slots: 0 }, 'slots');
test(badOptions, { slots: 1 }, 'slots');
test(badOptions, { slots: 6 }, 'slots');
test(badOptions, { slots: 2.5 }, 'slots');
test(badOptions, { slots: 2 ** 21 }, 'slots');
test(badOptions, { slotSize: 56 }, 'slotSize');
test(badOptions, { slotSize: 100 }, 'slotSize');
test(badOptions, { slotSize: 65544 }, 'slotSize');
test(badOptions, { slotSize: 64, headroom: 64 }, 'headroom');
test(badOptions, { headroom: -1 }, 'headroom');
test(badOptions, { headroom: 1.5 }, 'headroom');

test('createRing defaults, and the smallest ring', (t) => {
  const d = createRing();
  t.deepEqual([d.slots, d.slotSize, d.headroom], [1024, 2048, 64]);
  t.true(d.sab instanceof SharedArrayBuffer);
  t.is(new RingProducer(d).maxFrame, 2048 - 64);
  const s = createRing({ slots: 2, slotSize: 64, headroom: 0 });
  t.is(new RingProducer(s).maxFrame, 64);
  t.deepEqual(ringStats(s), {
    inFlight: 0, closed: false, Pushed: 0, PushedBytes: 0, DropFull: 0, DropTooBig: 0, DropClosed: 0,
    Waits: 0, Consumed: 0, ConsumedBytes: 0, ProducerWakeups: 0,
  });
});

// ---------------------------------------------------------------------------------------------
// push, publish, poll

test('frames come out in order and byte-exact, and only after publish', (t) => {
  const { d, p, c } = pair();
  const fs = frames(10, 0, 48, 1);
  for (const f of fs) t.true(p.push(f));
  t.is(p.pending, 4);
  t.is(c.available(), 0, 'pushed is not published');
  t.is(c.poll(() => t.fail('nothing is visible before publish')), 0);
  t.is(ringStats(d).inFlight, 0);
  p.publish();
  t.is(p.pending, 0);
  t.is(c.available(), 4);
  t.is(ringStats(d).inFlight, 4);
  t.deepEqual(drain(c), fs.map((f) => [...f]));
  t.is(c.available(), 0);
  t.is(c.poll(() => t.fail('drained')), 0);
  t.true(p.send(fs[0]!), 'send = push + publish');
  t.deepEqual(drain(c), [[...fs[0]!]]);
});

test('poll(handler, max) hands out at most max frames and leaves the rest', (t) => {
  const { p, c } = pair();
  const fs = frames(5, 6, 7, 8);
  for (const f of fs) p.push(f);
  p.publish();
  t.deepEqual(drain(c, 3), fs.slice(0, 3).map((f) => [...f]));
  t.is(c.available(), 1);
  t.deepEqual(drain(c, 3), [[...fs[3]!]]);
  p.push(fs[0]!);
  p.publish();
  t.is(c.poll(() => {}, 0), 0, 'max 0 takes nothing');
  t.is(c.available(), 1);
});

test('the handler sees a view into the slot, after the headroom', (t) => {
  const { d, p, c } = pair();
  p.send(makeFrame(7, 20));
  c.poll((f) => {
    t.is(f.buffer, d.sab);
    t.is(checkFrame(f, 7, 20), -1);
    const data = p.data; // same bytes, seen from the producer's side
    t.is(f.byteOffset, data.byteOffset + p.slotOffset(0) + d.headroom);
  });
});

// ---------------------------------------------------------------------------------------------
// drops

test("a full ring with the 'drop' policy drops and counts (DropFull), then has room once polled", (t) => {
  const { d, p, c } = pair();
  const fs = frames(1, 2, 3, 4, 5);
  for (let i = 0; i < 4; i++) t.true(p.push(fs[i]!));
  t.false(p.push(fs[4]!), 'full even before publishing: pushed frames hold their slots');
  p.publish();
  t.false(p.send(fs[4]!));
  t.is(ringStats(d).DropFull, 2);
  t.is(drain(c, 1).length, 1);
  t.true(p.send(fs[4]!), 'room again after one release');
  t.false(p.push(fs[4]!));
  t.deepEqual(drain(c), [fs[1], fs[2], fs[3], fs[4]].map((f) => [...f!]));
  const st = ringStats(d);
  t.deepEqual([st.Pushed, st.DropFull, st.Consumed, st.inFlight], [5, 3, 5, 0]);
});

test('frames larger than a slot after the headroom are dropped as DropTooBig', (t) => {
  const { d, p, c } = pair({ slotSize: 64, headroom: 16 });
  t.is(p.maxFrame, 48);
  t.true(p.push(makeFrame(0, 48)));
  t.false(p.push(makeFrame(1, 49)));
  t.false(p.push(new Uint8Array(4096)));
  p.publish();
  t.deepEqual(drain(c), [[...makeFrame(0, 48)]]);
  const st = ringStats(d);
  t.deepEqual([st.Pushed, st.PushedBytes, st.DropTooBig, st.DropFull], [1, 48, 2, 0]);
});

test('a closed ring drops (DropClosed); frames published before the close still drain', (t) => {
  const { d, p, c } = pair();
  p.push(makeFrame(0, 8));
  t.false(p.closed);
  p.close(); // publishes what is pending first
  t.true(p.closed);
  t.true(c.closed);
  t.false(p.push(makeFrame(1, 8)));
  t.false(p.send(makeFrame(2, 8)));
  t.is(p.reserve(), -1);
  t.deepEqual(drain(c), [[...makeFrame(0, 8)]]);
  const st = ringStats(d);
  t.true(st.closed);
  t.deepEqual([st.Pushed, st.DropClosed, st.DropFull], [1, 3, 0]);
});

test('closeRing from a third party closes both ends; so does the consumer', (t) => {
  const { d, p, c } = pair();
  const copy: RingDescriptor = { ...d }; // what another thread would hold
  closeRing(copy);
  t.true(p.closed);
  t.true(c.closed);
  t.false(p.send(makeFrame(0, 8)));
  t.is(ringStats(d).DropClosed, 1);

  const b = pair();
  b.c.close();
  t.true(b.p.closed);
  t.false(b.p.send(makeFrame(0, 8)));
  t.is(ringStats(b.d).DropClosed, 1);
});

test("'wait' with nobody consuming: waits maxWaitMs, publishes what was pending, then drops (DropFull)", (t) => {
  const d = createRing({ slots: 2, slotSize: 64, headroom: 0 });
  const p = new RingProducer(d, { policy: 'wait', maxWaitMs: 30 });
  const c = new RingConsumer(d);
  t.true(p.push(makeFrame(0, 4)));
  t.true(p.push(makeFrame(1, 4)));
  t.is(c.available(), 0);
  const t0 = performance.now();
  t.false(p.push(makeFrame(2, 4)));
  const waited = performance.now() - t0;
  t.true(waited >= 25 && waited < 2000, `waited ${waited.toFixed(1)} ms`);
  t.is(c.available(), 2, 'the wait published the pending frames, or nobody could make room');
  const st = ringStats(d);
  t.deepEqual([st.Waits, st.DropFull, st.Pushed], [1, 1, 2]);
  t.is(drain(c).length, 2);
  t.true(p.push(makeFrame(2, 4)), 'no wait when there is room');
  t.is(ringStats(d).Waits, 1);
});

// ---------------------------------------------------------------------------------------------
// reserve / commit

test('reserve/commit builds a frame in place, at the headroom or inside it', (t) => {
  const { d, p, c } = pair({ slots: 2, slotSize: 64, headroom: 16 });
  const s0 = p.reserve();
  t.is(s0, 0);
  p.data.set(makeFrame(0, 30), p.slotOffset(s0) + d.headroom);
  p.commit(d.headroom, 30);
  t.is(p.pending, 1);
  // A 10-byte header prepended into the headroom: the frame starts at 6, before the headroom.
  const s1 = p.reserve();
  t.is(s1, 1);
  const full = makeFrame(1, 10 + 48);
  p.data.set(full, p.slotOffset(s1) + 6);
  p.commit(6, full.length);
  t.is(p.reserve(), -1, 'full');
  p.publish();
  const seen: { off: number; bytes: number[] }[] = [];
  c.poll((f) => seen.push({ off: f.byteOffset - p.data.byteOffset, bytes: [...f] }));
  t.deepEqual(seen, [
    { off: 0 * 64 + 16, bytes: [...makeFrame(0, 30)] },
    { off: 1 * 64 + 6, bytes: [...full] },
  ]);
  const st = ringStats(d);
  t.deepEqual([st.Pushed, st.PushedBytes, st.ConsumedBytes, st.DropFull], [2, 88, 88, 1]);
});

test('a reserved slot that is not committed is not sent, and the next reserve gets it again', (t) => {
  const { p, c } = pair();
  const s = p.reserve();
  t.is(p.reserve(), s);
  p.publish();
  t.is(c.available(), 0);
});

// ---------------------------------------------------------------------------------------------
// the consumer's view cache

test('the consumer reuses its view of a slot for the same offset and length, and makes a new one otherwise', (t) => {
  const { d, p, c } = pair({ slots: 2, slotSize: 64, headroom: 16 });
  const got: Uint8Array[] = [];
  const take = (f: Uint8Array): void => void got.push(f);
  const sendAt = (off: number, len: number): void => {
    p.reserve();
    p.commit(off, len);
    p.publish();
    c.poll(take);
  };
  sendAt(16, 10); // slot 0
  sendAt(16, 10); // slot 1
  sendAt(16, 10); // slot 0 again, same range
  sendAt(16, 11); // slot 1, longer
  sendAt(8, 10); // slot 0, earlier start, same length
  sendAt(8, 10); // slot 1
  sendAt(8, 10); // slot 0, same as the last time
  const [a, b, a2, b2, a3, b3, a4] = got;
  t.not(a, b, 'one view per slot');
  t.is(a2, a, 'same slot, offset and length: the same view object');
  t.not(b2, b, 'other length: a new view');
  t.is(b2!.length, 11);
  t.not(a3, a, 'other offset: a new view');
  t.is(a3!.byteOffset - p.data.byteOffset, 8);
  t.not(b3, b2);
  t.is(a4, a3);
  t.is(ringStats(d).Consumed, 7);
});

// ---------------------------------------------------------------------------------------------
// wrap-around

const wrapCase = test.macro({
  exec(t, initialCounter: number) {
    const { d, p, c } = pair({ slots: 4, initialCounter });
    let sent = 0;
    let got = 0;
    for (let round = 0; round < 12; round++) {
      const k = 1 + (round % 4); // 1..4 frames per round: the slots rotate and the counters cross the wrap
      for (let i = 0; i < k; i++) t.true(p.push(makeFrame(sent++, 1 + (sent % 40))), `push ${sent}`);
      if (k === 4) t.false(p.push(makeFrame(999, 1)), 'full, whatever the counter values');
      p.publish();
      t.is(c.available(), k);
      t.is(ringStats(d).inFlight, k);
      c.poll((f) => {
        const seq = got++;
        t.is(checkFrame(f, seq, 1 + ((seq + 1) % 40)), -1, `frame ${seq}`);
      });
      t.is(c.available(), 0);
    }
    t.is(got, sent);
    t.is(got, 30);
    const st = ringStats(d);
    t.deepEqual([st.Pushed, st.Consumed, st.inFlight, st.DropFull], [30, 30, 0, 3]);
    // HEAD (Int32 0 of the control block) went past the wrap.
    t.is(new Int32Array(d.sab, 0, 1)[0], (initialCounter + 30) | 0);
  },
  title: (what = '', initialCounter: number) => `32-bit counters wrap: start at ${initialCounter} ${what}`.trim(),
});
test(wrapCase, -5);
test('(2^32 - 5, the same as -5)', wrapCase, 2 ** 32 - 5);
test('(int32 sign flip)', wrapCase, 2 ** 31 - 5);
test('(from 0)', wrapCase, 0);

// ---------------------------------------------------------------------------------------------
// a throwing handler

test('a handler that throws releases the frames up to and including its own, and the error propagates', (t) => {
  const { d, p, c } = pair();
  const fs = frames(4, 5, 6, 7);
  for (const f of fs) p.push(f);
  p.publish();
  const seen: number[] = [];
  const boom = new Error('bad frame');
  const e = t.throws(() =>
    c.poll((f) => {
      seen.push(f.length);
      if (f.length === 5) throw boom;
    }),
  );
  t.is(e, boom);
  t.deepEqual(seen, [4, 5]);
  let st = ringStats(d);
  t.deepEqual([st.Consumed, st.ConsumedBytes, st.inFlight], [2, 9, 2]);
  t.is(c.available(), 2);
  t.deepEqual(drain(c), [[...fs[2]!], [...fs[3]!]], 'the frame that threw is not delivered again');
  t.true(p.push(fs[0]!) && p.push(fs[0]!), 'the released slots are free');
  st = ringStats(d);
  t.deepEqual([st.Consumed, st.inFlight], [4, 0]);
  const never = (): void => {
    throw boom;
  };
  t.is(c.poll(never), 0, 'pushed, not published: the handler does not run');
  p.publish();
  t.is(t.throws(() => c.poll(never)), boom, 'the first frame throws');
  t.deepEqual([ringStats(d).Consumed, c.available()], [5, 1]);
});

// ---------------------------------------------------------------------------------------------
// the doorbell from the producer's side

test('publish rings the doorbell only when something new was published and the consumer sleeps', (t) => {
  const d = createRing({ slots: 4, slotSize: 64, headroom: 0 });
  const bell = new Doorbell();
  const p = new RingProducer(d, { doorbell: bell });
  p.send(makeFrame(0, 4));
  t.is(bell.wakeups, 0, 'consumer awake: no wake-up');
  const seq = bell.prepare();
  p.publish();
  t.is(bell.wakeups, 0, 'nothing new: no wake-up');
  p.send(makeFrame(1, 4));
  t.is(bell.wakeups, 1);
  const t0 = performance.now();
  bell.park(seq, 5000); // rung after prepare: returns at once
  t.true(performance.now() - t0 < 1000);
  p.send(makeFrame(2, 4));
  t.is(bell.wakeups, 1, 'park cleared the sleeping flag');
  p.close();
  t.is(bell.wakeups, 1);
  bell.prepare();
  new RingProducer(d, { doorbell: bell }).close();
  t.is(bell.wakeups, 2, 'close rings a sleeping consumer');
});

// ---------------------------------------------------------------------------------------------
// stats and the model

test('stats add up: Pushed (published) = Consumed + inFlight; attempts = Pushed + pending + drops by reason', (t) => {
  const { d, p, c } = pair({ slots: 8, slotSize: 64, headroom: 16 });
  let attempts = 0;
  for (let i = 0; i < 40; i++) {
    attempts++;
    p.push(makeFrame(i, (i * 7) % 60)); // some are too big (> 48)
    if (i % 3 === 0) p.publish();
    if (i % 5 === 0) c.poll(() => {}, 2);
  }
  c.poll(() => {}, 1);
  attempts++;
  t.true(p.push(makeFrame(99, 3)));
  const st = ringStats(d);
  // Pushed and PushedBytes count what was published (updated once per publish, not per frame).
  t.is(st.Pushed, st.Consumed + st.inFlight);
  t.is(attempts, st.Pushed + p.pending + st.DropFull + st.DropTooBig + st.DropClosed);
  t.true(st.DropFull > 0 && st.DropTooBig > 0 && p.pending > 0 && st.inFlight > 0, JSON.stringify(st));
  p.publish();
  c.poll(() => {});
  const end = ringStats(d);
  t.is(end.Pushed, end.Consumed);
  t.is(end.PushedBytes, end.ConsumedBytes);
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

type Op = { op: 'push'; len: number } | { op: 'publish' } | { op: 'poll'; max: number };

test('property: against a model FIFO, everything published and not dropped comes out once, in order, exact', (t) => {
  const slotSize = 64;
  const headroom = 8;
  const maxFrame = slotSize - headroom;
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('push' as const), len: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: maxFrame }) }, { weight: 1, arbitrary: fc.integer({ min: maxFrame + 1, max: 200 }) }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('publish' as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('poll' as const), max: fc.integer({ min: 1, max: 10 }) }) },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(2, 4, 8),
      fc.constantFrom(0, -3, 2 ** 31 - 7, 1000),
      fc.array(op, { maxLength: 200 }),
      (slots, initialCounter, ops) => {
        const d = createRing({ slots, slotSize, headroom, initialCounter });
        const p = new RingProducer(d);
        const c = new RingConsumer(d);
        const pending: Uint8Array[] = []; // pushed, not published
        const visible: Uint8Array[] = []; // published, not consumed
        let seq = 0;
        let dropFull = 0;
        let dropTooBig = 0;
        for (const o of ops) {
          if (o.op === 'push') {
            const f = makeFrame(seq++, o.len);
            const want = o.len > maxFrame ? 'big' : pending.length + visible.length === slots ? 'full' : 'ok';
            const ok = p.push(f);
            if (ok !== (want === 'ok')) return false;
            if (want === 'ok') pending.push(f);
            else if (want === 'full') dropFull++;
            else dropTooBig++;
          } else if (o.op === 'publish') {
            p.publish();
            visible.push(...pending.splice(0));
          } else {
            const want = visible.splice(0, o.max);
            const got: Uint8Array[] = [];
            if (c.poll((f) => got.push(f.slice()), o.max) !== want.length) return false;
            if (!got.every((f, i) => sameBytes(f, want[i]!))) return false;
          }
          const st = ringStats(d);
          if (st.inFlight !== visible.length || p.pending !== pending.length) return false;
          if (st.DropFull !== dropFull || st.DropTooBig !== dropTooBig) return false;
          if (st.Pushed !== st.Consumed + st.inFlight) return false;
        }
        return true;
      },
    ),
    { seed: 0x5eed, numRuns: 300 },
  );
  t.pass();
});
