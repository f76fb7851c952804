/** IndexRing on one thread, and the descriptor packing. Across threads: stress.test.ts. */

import test from 'ava';
import fc from 'fast-check';
import {
  Doorbell,
  IndexConsumer,
  IndexProducer,
  closeIndexRing,
  createIndexRing,
  descLen,
  descOff,
  indexRingStats,
  packDesc,
  type IndexRingDescriptor,
} from '../../rings/index.js';

function drain(c: IndexConsumer, max?: number): [number, number][] {
  const out: [number, number][] = [];
  c.poll((a, b) => out.push([a, b]), max);
  return out;
}

function pair(slots = 4, initialCounter = 0): { d: IndexRingDescriptor; p: IndexProducer; c: IndexConsumer } {
  const d = createIndexRing(slots, initialCounter);
  return { d, p: new IndexProducer(d), c: new IndexConsumer(d) };
}

// ---------------------------------------------------------------------------------------------
// descriptors

const descCase = test.macro({
  exec(t, off: number, len: number, packed: number) {
    const b = packDesc(off, len);
    t.is(b, packed);
    t.is(descOff(b), off);
    t.is(descLen(b), len);
  },
  title: (what = '', off: number, len: number) => `packDesc(${off}, ${len}) round-trips ${what}`.trim(),
});
test(descCase, 0, 0, 0);
test(descCase, 0, 1500, 1500);
test(descCase, 64, 1500, (64 << 16) | 1500);
test('(offset with the top bit set: a negative int32)', descCase, 0x8000, 1, -0x7fff_ffff);
test('(both at their maximum)', descCase, 0xffff, 0xffff, -1);

test('property: packDesc/descOff/descLen round-trip every offset and length below 65536', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (off, len) => {
      const b = packDesc(off, len);
      return b === (b | 0) && descOff(b) === off && descLen(b) === len;
    }),
    { seed: 0x1d5c, numRuns: 2000 },
  );
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// createIndexRing

const badSlots = test.macro({
  exec(t, slots: number) {
    t.throws(() => createIndexRing(slots), { instanceOf: RangeError, message: /^IndexRing: slots / });
  },
  title: (_ = '', slots: number) => `createIndexRing(${slots}) throws a RangeError naming slots`,
});
for (const s of [0, 1, 3, 12, 2.5, 2 ** 23, Number.NaN]) test(badSlots, s);

test('createIndexRing: a fresh ring is empty and open', (t) => {
  const d = createIndexRing(2);
  t.is(d.slots, 2);
  t.deepEqual(indexRingStats(d), { inFlight: 0, closed: false, pushed: 0, dropFull: 0, dropClosed: 0, consumed: 0 });
});

// ---------------------------------------------------------------------------------------------
// push, publish, poll

test('descriptors come out in order, only after publish, up to max per poll', (t) => {
  const { d, p, c } = pair();
  t.true(p.push(1, 10));
  t.true(p.push(2, -20));
  t.true(p.push(0x7fff_ffff, -0x8000_0000));
  t.is(p.pending, 3);
  t.is(c.available(), 0);
  t.is(c.poll(() => t.fail('not published')), 0);
  p.publish();
  t.is(p.pending, 0);
  t.is(indexRingStats(d).inFlight, 3);
  t.deepEqual(drain(c, 2), [
    [1, 10],
    [2, -20],
  ]);
  t.deepEqual(drain(c), [[0x7fff_ffff, -0x8000_0000]]);
  t.is(c.available(), 0);
  const st = indexRingStats(d);
  t.deepEqual([st.pushed, st.consumed, st.inFlight], [3, 3, 0]);
});

test('a full ring drops and counts (dropFull) until the consumer releases', (t) => {
  const { d, p, c } = pair(4);
  for (let i = 0; i < 4; i++) t.true(p.push(i, i));
  t.false(p.push(4, 4), 'full even unpublished');
  p.publish();
  t.false(p.push(4, 4));
  t.deepEqual(drain(c, 1), [[0, 0]]);
  t.true(p.push(4, 4));
  t.false(p.push(5, 5));
  p.publish();
  t.deepEqual(drain(c), [
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
  ]);
  const st = indexRingStats(d);
  t.deepEqual([st.pushed, st.dropFull, st.consumed, st.inFlight], [5, 3, 5, 0]);
});

test('a closed ring drops (dropClosed); what was published before still drains', (t) => {
  const { d, p, c } = pair();
  p.push(7, 70);
  p.publish();
  closeIndexRing({ ...d });
  t.true(c.closed);
  t.false(p.push(8, 80));
  t.deepEqual(drain(c), [[7, 70]]);
  const st = indexRingStats(d);
  t.deepEqual([st.closed, st.pushed, st.dropClosed, st.dropFull], [true, 1, 1, 0]);
});

test('a handler that throws releases the descriptors up to and including its own, and the error propagates', (t) => {
  const { d, p, c } = pair();
  for (let i = 0; i < 4; i++) p.push(i, 0);
  p.publish();
  const boom = new Error('bad');
  const seen: number[] = [];
  t.is(
    t.throws(() =>
      c.poll((a) => {
        seen.push(a);
        if (a === 1) throw boom;
      }),
    ),
    boom,
  );
  t.deepEqual(seen, [0, 1]);
  t.deepEqual([indexRingStats(d).consumed, c.available()], [2, 2]);
  t.deepEqual(drain(c), [
    [2, 0],
    [3, 0],
  ]);
});

test('publish rings a sleeping consumer once per publish with something new', (t) => {
  const d = createIndexRing(4);
  const bell = new Doorbell();
  const p = new IndexProducer(d, bell);
  p.push(1, 1);
  p.publish();
  t.is(bell.wakeups, 0);
  const seq = bell.prepare();
  p.publish();
  t.is(bell.wakeups, 0, 'nothing new');
  p.push(2, 2);
  p.publish();
  t.is(bell.wakeups, 1);
  bell.park(seq, 5000); // returns at once: it was rung after prepare
  p.push(3, 3);
  p.publish();
  t.is(bell.wakeups, 1);
});

const wrapCase = test.macro({
  exec(t, initialCounter: number) {
    const { d, p, c } = pair(4, initialCounter);
    let next = 0;
    let got = 0;
    for (let round = 0; round < 10; round++) {
      const k = 1 + (round % 4);
      for (let i = 0; i < k; i++) t.true(p.push(next, ~next), `push ${next++}`);
      if (k === 4) t.false(p.push(-1, -1));
      p.publish();
      t.is(indexRingStats(d).inFlight, k);
      c.poll((a, b) => {
        t.deepEqual([a, b], [got, ~got]);
        got++;
      });
    }
    t.is(got, next);
    t.is(new Int32Array(d.sab, 0, 1)[0], (initialCounter + next) | 0, 'HEAD went past the wrap');
  },
  title: (what = '', initialCounter: number) => `counters wrap: start at ${initialCounter} ${what}`.trim(),
});
test(wrapCase, -3);
test('(int32 sign flip)', wrapCase, 2 ** 31 - 3);

type Op = { op: 'push' } | { op: 'publish' } | { op: 'poll'; max: number } | { op: 'close' };

test('property: against a model FIFO, every published descriptor comes out once, in order', (t) => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ op: 'push' as const }) },
    { weight: 2, arbitrary: fc.constant({ op: 'publish' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('poll' as const), max: fc.integer({ min: 1, max: 9 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'close' as const }) },
  );
  fc.assert(
    fc.property(fc.constantFrom(2, 4, 8), fc.integer({ min: -20, max: 20 }), fc.array(op, { maxLength: 150 }), (slots, start, ops) => {
      const { d, p, c } = pair(slots, start);
      const pending: number[] = [];
      const visible: number[] = [];
      let closed = false;
      let n = 0;
      let dropFull = 0;
      let dropClosed = 0;
      for (const o of ops) {
        if (o.op === 'push') {
          const id = n++;
          const ok = p.push(id, id * 3);
          const want = closed ? 'closed' : pending.length + visible.length === slots ? 'full' : 'ok';
          if (ok !== (want === 'ok')) return false;
          if (want === 'ok') pending.push(id);
          else if (want === 'full') dropFull++;
          else dropClosed++;
        } else if (o.op === 'publish') {
          p.publish();
          visible.push(...pending.splice(0));
        } else if (o.op === 'poll') {
          const want = visible.splice(0, o.max);
          const got: number[] = [];
          c.poll((a, b) => got.push(b === a * 3 ? a : -1), o.max);
          if (got.length !== want.length || got.some((a, i) => a !== want[i])) return false;
        } else {
          closeIndexRing(d);
          closed = true;
        }
        const st = indexRingStats(d);
        if (st.inFlight !== visible.length || p.pending !== pending.length) return false;
        if (st.dropFull !== dropFull || st.dropClosed !== dropClosed) return false;
        if (st.pushed !== st.consumed + st.inFlight + p.pending) return false;
      }
      return true;
    }),
    { seed: 0x1de7, numRuns: 300 },
  );
  t.pass();
});
