import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Doorbell } from '../../rings/index.js';
import { requireNative } from '../../src/native/index.js';

test('eventfd: a kick makes it readable, draining counts and resets the kicks', async (t) => {
  const n = requireNative('the wait test');
  const fd = n.eventfdCreate();
  t.true(fd > 2);
  try {
    t.is(n.eventfdDrain(fd), 0, 'nothing pending: a non-blocking read finds nothing');
    n.eventfdKick(fd);
    n.eventfdKick(fd);
    const ready = new Int32Array(1);
    t.is(n.waitFds(new Int32Array([fd]), -1, 0, ready), 1);
    t.not(ready[0], 0, 'readable');
    t.is(n.eventfdDrain(fd), 2);
    t.is(n.waitFds(new Int32Array([fd]), -1, 0, ready), 0, 'drained: not readable any more');
    // The async wait resolves when a descriptor becomes readable, on a libuv pool thread.
    const pending = n.waitFdsAsync([fd], -1, 2000) as Promise<number[]>;
    setTimeout(() => n.eventfdKick(fd), 50);
    const t0 = performance.now();
    const revents = await pending;
    t.true(performance.now() - t0 < 1500, 'woken by the kick, not by the timeout');
    t.not(revents[0], 0);
  } finally {
    n.fdClose(fd);
  }
});

test('a producer ringing a doorbell wakes a consumer parked in a native poll through its eventfd', async (t) => {
  requireNative('the wait test');
  const bell = new Doorbell();
  const w = new Worker(new URL('./wait-worker.js', import.meta.url), { workerData: { bell: bell.sab } });
  t.teardown(() => w.terminate());
  const messages: unknown[] = [];
  const done = new Promise<{ ms: number; woke: number }>((resolve, reject) => {
    w.on('message', (m) => (m === 'parked' ? messages.push(m) : resolve(m as { ms: number; woke: number })));
    w.once('error', reject);
  });
  while (messages.length === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 100)); // let it really block in poll(2)
  bell.ring(); // this thread loaded the addon, so Doorbell.kicker writes the eventfd
  const r = await done;
  t.true(r.ms >= 50 && r.ms < 2000, `parked ${r.ms.toFixed(0)} ms, woken by the kick (timeout 5000)`);
  t.is(r.woke, 1, 'the eventfd was the ready descriptor');
  t.is(bell.wakeups, 1);
});
