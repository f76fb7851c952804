/** Doorbell on one thread: the handshake's steps one by one. Across threads: stress.test.ts. */

import test from 'ava';
import { DOORBELL_BYTES, Doorbell } from '../../rings/index.js';

test('ring is a no-op while the consumer is awake', (t) => {
  const bell = new Doorbell();
  const seq = bell.prepare();
  bell.cancel();
  bell.ring();
  t.is(bell.wakeups, 0);
  t.is(bell.prepare(), seq, 'SEQ did not move');
});

test('rung between prepare and park: park returns at once (no lost wake-up)', (t) => {
  const bell = new Doorbell();
  const seq = bell.prepare();
  bell.ring();
  t.is(bell.wakeups, 1);
  const t0 = performance.now();
  bell.park(seq, 5000);
  t.true(performance.now() - t0 < 1000);
  bell.ring();
  t.is(bell.wakeups, 1, 'awake again: ringing does nothing');
});

test('a burst of rings wakes a sleeping consumer once; the next sleep can be rung again', (t) => {
  const bell = new Doorbell();
  const other = new Doorbell(bell.sab); // a second producer sharing the doorbell
  let seq = bell.prepare();
  bell.ring();
  other.ring();
  bell.ring();
  t.is(bell.wakeups, 1);
  bell.park(seq, 5000);
  seq = bell.prepare();
  other.ring();
  t.is(bell.wakeups, 2);
  const t0 = performance.now();
  bell.park(seq, 5000);
  t.true(performance.now() - t0 < 1000);
});

test('park without a ring waits for its timeout', (t) => {
  const bell = new Doorbell();
  const seq = bell.prepare();
  const t0 = performance.now();
  bell.park(seq, 30);
  const dt = performance.now() - t0;
  t.true(dt >= 29 && dt < 2000, `${dt.toFixed(1)} ms`);
  t.is(bell.wakeups, 0);
});

test('parkAsync: resolves at once when rung before, when rung later, and on timeout, with the event loop running', async (t) => {
  const bell = new Doorbell();
  let seq = bell.prepare();
  bell.ring();
  let t0 = performance.now();
  await bell.parkAsync(seq, 5000);
  t.true(performance.now() - t0 < 1000, 'rung before');

  seq = bell.prepare();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  setTimeout(() => bell.ring(), 30);
  t0 = performance.now();
  await bell.parkAsync(seq, 5000);
  clearInterval(timer);
  const dt = performance.now() - t0;
  t.true(dt >= 25 && dt < 2000, `woken by the ring after ${dt.toFixed(1)} ms`);
  t.true(ticks > 3, `timers ran while parked (${ticks})`);
  t.is(bell.wakeups, 2);

  // On Node 20 a pending Atomics.waitAsync does not keep the event loop alive (nodejs/node#61941):
  // with nothing else pending the process would exit mid-park. See stress.test.ts.
  const keepAlive = setTimeout(() => {}, 5000);
  seq = bell.prepare();
  t0 = performance.now();
  await bell.parkAsync(seq, 20);
  clearTimeout(keepAlive);
  t.true(performance.now() - t0 >= 19, 'timed out');
});

test('wake rouses a parked consumer whether or not it announced sleep, and is not counted as a wake-up', async (t) => {
  const bell = new Doorbell();
  const seq = bell.prepare();
  bell.cancel();
  setTimeout(() => bell.wake(), 20);
  const t0 = performance.now();
  await bell.parkAsync(seq, 5000);
  t.true(performance.now() - t0 < 2000);
  t.is(bell.wakeups, 0);
});

test('doorbells side by side in one buffer are independent', (t) => {
  const sab = new SharedArrayBuffer(2 * DOORBELL_BYTES);
  const a = new Doorbell(sab, 0);
  const b = new Doorbell(sab, DOORBELL_BYTES);
  const other = new Doorbell(sab, DOORBELL_BYTES); // b as another thread sees it
  b.prepare();
  a.ring();
  t.is(a.wakeups, 0);
  other.ring();
  t.is(b.wakeups, 1);
  t.is(a.wakeups, 0);
  t.is(b.byteOffset, DOORBELL_BYTES);
});
