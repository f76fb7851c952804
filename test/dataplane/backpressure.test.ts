import test from 'ava';
import { startDataplane } from '../helpers/dp.js';

const SINK_MAC = 0x0200_0000_0ccc;

interface SinkStats {
  received: number;
  outOfOrder: number;
}

test.serial("a 'drop' link with a tiny ring and a slow sink counts what it drops", async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  const gen = await dp.create({ kind: 'gen' }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC, delayUs: 20 } }, { worker: 1 });
  const link = await dp.link(gen, sink, { policy: 'drop', slots: 8, slotSize: 256 });
  const N = 5000;
  await dp.command(gen, 'send', { count: N, burst: 64, size: 100, dst: SINK_MAC });
  const s0 = await dp.stats();
  const ring0 = s0.links[0]!.aToB!;
  // Everything pushed is eventually consumed; the rest was dropped as queue-full.
  await dp.command(sink, 'wait', { count: ring0.pushed });
  const s = await dp.stats();
  const ring = s.links.find((l) => l.id === link.id)!.aToB!;
  const got = (s.workers[1]!.engines[0]!.stats as SinkStats).received;
  t.log(`received ${got} of ${N}; ring ${JSON.stringify(ring.drops)}`);
  t.true(ring.drops['queue-full']! > 0);
  t.is(ring.dropped, ring.drops['queue-full']!);
  t.is(ring.pushed + ring.dropped, N);
  t.is(got, ring.pushed);
  t.is(ring.consumed, ring.pushed);
  t.like(s.links[0]!.ends.a, { txFrames: ring.pushed, dropped: ring.dropped, drops: { 'queue-full': ring.dropped } });
});

test.serial("a 'wait' link between workers loses nothing", async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  const gen = await dp.create({ kind: 'gen' }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC, delayUs: 20 } }, { worker: 1 });
  await dp.link(gen, sink, { policy: 'wait', slots: 8, slotSize: 256, maxWaitMs: 1000 });
  const N = 5000;
  await dp.command(gen, 'send', { count: N, burst: 64, size: 100, dst: SINK_MAC });
  t.is(await dp.command(sink, 'wait', { count: N }), N);
  const s = await dp.stats();
  const ring = s.links[0]!.aToB!;
  t.like(s.workers[1]!.engines[0]!.stats, { received: N, outOfOrder: 0 });
  t.like(ring, { pushed: N, consumed: N, dropped: 0 });
  t.true(ring.waits > 0, 'the producer had to wait for room');
  t.true(ring.producerWakeups > 0);
});

test.serial('a frame larger than a slot is dropped as too-big', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  const gen = await dp.create({ kind: 'gen' }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink' }, { worker: 1 });
  await dp.link(gen, sink, { slotSize: 256, headroom: 64 });
  await dp.command(gen, 'send', { count: 3, size: 193 });
  await dp.command(gen, 'send', { count: 2, size: 192, stream: 1 });
  t.is(await dp.command(sink, 'wait', { count: 2 }), 2);
  const s = await dp.stats();
  t.like(s.links[0]!.aToB, { pushed: 2, dropped: 3, drops: { 'too-big': 3 } });
  t.like(s.links[0]!.ends.a, { drops: { 'too-big': 3 } });
});
