/** FramePool on one thread: the owner's allocator, completion and fill rings, and the view cache. */

import test from 'ava';
import {
  FramePoolOwner,
  FramePoolView,
  IndexConsumer,
  IndexProducer,
  closeIndexRing,
  MAX_FRAME_SIZE,
  createFramePool,
  createIndexRing,
  descLen,
  descOff,
  indexRingStats,
} from '../../rings/index.js';

const badPool = test.macro({
  exec(t, count: number, frameSize: number | undefined, field: RegExp) {
    t.throws(() => createFramePool(count, frameSize), { instanceOf: RangeError, message: field });
  },
  title: (_ = '', count: number, frameSize: number | undefined) => `createFramePool(${count}, ${frameSize}) throws a RangeError`,
});
test(badPool, 0, 2048, /^FramePool: count /);
test(badPool, 1.5, 2048, /^FramePool: count /);
test(badPool, 2 ** 22 + 1, 64, /^FramePool: count /);
test(badPool, 4, 32, /^FramePool: frameSize /);
test(badPool, 4, 100, /^FramePool: frameSize /);
test(badPool, 4, 65544, /^FramePool: frameSize /);
test(badPool, 2 ** 22, 1024, /^FramePool: count \* frameSize /);

test('createFramePool: one SharedArrayBuffer of count * frameSize bytes', (t) => {
  const d = createFramePool(3);
  t.deepEqual([d.count, d.frameSize, d.sab.byteLength], [3, 2048, 3 * 2048]);
  t.true(d.sab instanceof SharedArrayBuffer);
});

test('alloc hands out every frame once, then -1 counted as exhausted; release makes one free again', (t) => {
  const pool = new FramePoolOwner(createFramePool(4, 64));
  t.is(pool.available, 4);
  const got = [pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()];
  t.deepEqual(got, [0, 1, 2, 3], 'lowest first');
  t.is(pool.available, 0);
  t.is(pool.alloc(), -1);
  t.is(pool.alloc(), -1);
  t.is(pool.exhausted, 2);
  pool.release(2);
  t.is(pool.available, 1);
  t.is(pool.alloc(), 2);
  pool.release(1);
  pool.release(3);
  t.is(pool.alloc(), 3, 'last released, first reused (still warm in cache)');
  t.is(pool.exhausted, 2);
});

test('reclaim takes frames back from every completion ring; alloc reclaims by itself when empty', (t) => {
  const d = createFramePool(6, 64);
  const pool = new FramePoolOwner(d);
  const r1 = createIndexRing(8);
  const r2 = createIndexRing(8);
  pool.addCompletionRing(new IndexConsumer(r1));
  pool.addCompletionRing(new IndexConsumer(r2));
  const back1 = new IndexProducer(r1);
  const back2 = new IndexProducer(r2);
  const out: number[] = [];
  for (let i = 0; i < 6; i++) out.push(pool.alloc());
  t.is(pool.available, 0);
  back1.push(out[0]!, 0);
  back1.push(out[1]!, 0);
  back2.push(out[2]!, 0);
  t.is(pool.reclaim(), 0, 'unpublished returns are not seen');
  back1.publish();
  back2.publish();
  t.is(pool.reclaim(), 3);
  t.is(pool.available, 3);
  t.is(pool.reclaim(), 0);
  for (let i = 0; i < 3; i++) t.not(pool.alloc(), -1);
  back2.push(out[5]!, 0);
  back2.publish();
  t.is(pool.alloc(), out[5]!, 'empty stack: alloc reclaimed');
  t.is(pool.exhausted, 0);
  t.is(pool.alloc(), -1);
  t.is(pool.exhausted, 1);
  t.deepEqual([indexRingStats(r1).consumed, indexRingStats(r2).consumed], [2, 2]);
});

test('lend pushes free frames as (index, whole frame) on a fill ring and publishes them', (t) => {
  const d = createFramePool(5, 256);
  const pool = new FramePoolOwner(d);
  const fillRing = createIndexRing(4);
  const fill = new IndexProducer(fillRing);
  const device = new IndexConsumer(fillRing);
  t.is(pool.lend(fill, 2), 2);
  t.is(pool.available, 3);
  t.is(fill.pending, 0, 'published');
  const lent: number[] = [];
  device.poll((i, b) => {
    lent.push(i);
    t.deepEqual([descOff(b), descLen(b)], [0, 256]);
  });
  t.deepEqual(lent, [0, 1]);
  t.is(pool.lend(fill, 10), 3, 'as many as are free');
  t.is(pool.available, 0);
  t.is(pool.exhausted, 1, 'asking for more than is free counts one exhaustion');
  // A full fill ring: the frame that did not fit stays in the pool.
  const small = createIndexRing(2);
  const pool2 = new FramePoolOwner(createFramePool(5, 64));
  t.is(pool2.lend(new IndexProducer(small), 5), 2);
  t.is(pool2.available, 3);
  t.is(indexRingStats(small).dropFull, 1);
  // A closed fill ring lends nothing and loses nothing.
  closeIndexRing(small);
  t.is(pool2.lend(new IndexProducer(small), 1), 0);
  t.is(pool2.available, 3);
});

test('frame sizes stop below 65536, so the length of a lent frame fits the 16-bit descriptor field', (t) => {
  t.throws(() => createFramePool(1, 65536), { instanceOf: RangeError, message: /frameSize must be a multiple of 8 in \[64, 65528\], got 65536/ });
  const pool = new FramePoolOwner(createFramePool(1, MAX_FRAME_SIZE));
  const ring = createIndexRing(2);
  t.is(pool.lend(new IndexProducer(ring), 1), 1);
  let desc = -1;
  new IndexConsumer(ring).poll((_, b) => {
    desc = b;
  });
  t.deepEqual([descOff(desc), descLen(desc)], [0, MAX_FRAME_SIZE]);
});

test('FramePoolView.frame caches one view per frame while the range repeats', (t) => {
  const d = createFramePool(3, 64);
  const owner = new FramePoolOwner(d);
  const other = new FramePoolView(d); // another thread's view of the same pool
  const i = owner.alloc();
  const j = owner.alloc();
  t.is(owner.offsetOf(j), 64);
  const v = owner.frame(j, 4, 10);
  t.is(v.buffer, d.sab);
  t.is(v.byteOffset, 64 + 4);
  t.is(v.length, 10);
  v.fill(0x5a);
  t.deepEqual([...other.frame(j, 3, 12)], [0, ...Array<number>(10).fill(0x5a), 0], 'same memory, seen from another view');
  t.is(owner.frame(j, 4, 10), v, 'same frame and range: the same object');
  t.not(owner.frame(j, 4, 11), v, 'other length');
  const w = owner.frame(j, 5, 10);
  t.not(w, v, 'other offset');
  t.is(owner.frame(j, 5, 10), w, 'the new range is now the cached one');
  t.not(owner.frame(i, 5, 10), w, 'one cache entry per frame');
  t.is(owner.frame(i, 0, 64).byteOffset, 0);
});
