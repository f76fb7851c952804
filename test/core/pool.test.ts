import test from 'ava';
import { BufferPool } from '../../src/core/pool.js';
import { PktError, PktRangeError } from '../../src/errors.js';

test('frames are handed out lowest first, bounded, and counted', (t) => {
  const pool = new BufferPool({ frameSize: 64, count: 3 });
  t.is(pool.alloc(), 0);
  t.is(pool.alloc(), 1);
  t.is(pool.alloc(), 2);
  t.is(pool.alloc(), -1);
  t.is(pool.inUse, 3);
  pool.release(1);
  t.is(pool.available, 1);
  t.is(pool.alloc(), 1);
  t.deepEqual(pool.stats(), { frameSize: 64, count: 3, inUse: 3, highWater: 3, allocs: 4, releases: 1, exhausted: 1 });
});

test('release checks its argument and catches double frees', (t) => {
  const pool = new BufferPool({ frameSize: 16, count: 2 });
  const i = pool.alloc();
  pool.release(i);
  const e = t.throws(() => pool.release(i), { instanceOf: PktError });
  t.is(e?.code, 'ERR_PKT_DOUBLE_FREE');
  t.is(t.throws(() => pool.release(5), { instanceOf: PktRangeError })?.code, 'ERR_PKT_OUT_OF_RANGE');
  t.throws(() => pool.release(0.5), { instanceOf: PktRangeError });
  t.throws(() => new BufferPool({ frameSize: 0 }), { instanceOf: PktRangeError, message: /frameSize/ });
});

test('views address the right bytes and are cached per frame and range', (t) => {
  const pool = new BufferPool({ frameSize: 32, count: 4, shared: true });
  t.true(pool.bytes.buffer instanceof SharedArrayBuffer);
  const i = pool.alloc();
  const j = pool.alloc();
  const v = pool.view(j, 4, 10);
  v.fill(7);
  t.is(pool.bytes[pool.offsetOf(j) + 4], 7);
  t.is(pool.bytes[pool.offsetOf(j) + 3], 0);
  t.is(pool.view(j, 4, 10), v, 'same range: the cached view');
  t.not(pool.view(j, 4, 11), v);
  t.is(pool.view(i).length, 32);
  t.is(pool.view(i, 30, 100).length, 2, 'clamped to the frame');
});
