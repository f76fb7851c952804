import test from 'ava';
import type { L2HubStats } from '../../src/core/l2-hub.js';
import type { WorkerErrorEvent } from '../../src/dataplane/index.js';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

const GEN_MAC = 0x0200_0000_0001;
const SINK_MAC = 0x0200_0000_0002;

interface SinkStats {
  received: number;
  bytes: number;
  outOfOrder: number;
  other: number;
}

// Serial: each test owns two workers (and the leak check compares thread counts).
test.serial('gen -> L2Hub -> sink across two workers: placement, ring and direct links, order, stats, unlink, close', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2 });
  const errors: WorkerErrorEvent[] = [];
  dp.on('error', (e) => errors.push(e));
  await dp.ready();
  // What the leak check looks for is there while the dataplane runs: a thread and a ref'd
  // MessagePort per worker.
  const during = await snapshot();
  if (before.threads >= 0) t.is(during.threads, before.threads + 2);
  t.is((during.resources.get('MessagePort') ?? 0) - (before.resources.get('MessagePort') ?? 0), 2);

  const hub = await dp.create({ kind: 'l2hub', options: { maxMacs: 4096 } }, { worker: 1 });
  t.deepEqual(hub, { id: hub.id, kind: 'l2hub', worker: 1, layer: 2 });
  const gen = await dp.create({ kind: 'gen', options: { mac: GEN_MAC } });
  t.is(gen.worker, 0, 'automatic placement picks the worker with the fewest engines');
  const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC } }, { worker: 1 });
  const spare = await dp.create({ kind: 'l2hub' });
  t.is(spare.worker, 0);

  const up = await dp.link(gen, hub, { policy: 'wait', maxWaitMs: 1000, slots: 256 });
  t.is(up.mode, 'ring');
  t.is(up.a, gen);
  const down = await dp.link(hub, sink);
  t.is(down.mode, 'direct');

  // The sink says hello (a broadcast): the hub learns it and floods it back across the ring.
  t.is(await dp.command(sink, 'hello'), SINK_MAC);
  const N = 20_000;
  t.deepEqual(await dp.command(gen, 'send', { count: N, burst: 64, size: 200, dst: SINK_MAC }), { sent: N });
  t.is(await dp.command(sink, 'wait', { count: N, timeoutMs: 10_000 }), N);

  const s = await dp.stats();
  const sinkStats = s.workers[1]!.engines.find((e) => e.id === sink.id)!.stats as SinkStats;
  t.like(sinkStats, { received: N, bytes: N * 200, outOfOrder: 0 });
  t.like(s.workers[0]!.engines.find((e) => e.id === gen.id)!.stats, { sent: N, received: 1 });
  const hubStats = s.workers[1]!.engines.find((e) => e.id === hub.id)!.stats as L2HubStats;
  t.is(hubStats.learned, 2);
  t.is(hubStats.ports.length, 2);
  t.is(hubStats.ports.reduce((n, p) => n + p.rxFrames, 0), N + 1);
  t.is(hubStats.ports.reduce((n, p) => n + p.dropped, 0), 0);

  const ring = s.links.find((l) => l.id === up.id)!;
  t.like(ring, { mode: 'ring', up: true, a: gen.id, b: hub.id });
  t.like(ring.aToB, { pushed: N, consumed: N, pushedBytes: N * 200, inFlight: 0, dropped: 0, closed: false });
  t.like(ring.bToA, { pushed: 1, consumed: 1, pushedBytes: 60 });
  t.like(ring.ends.a, { txFrames: N, rxFrames: 1, dropped: 0 });
  t.like(ring.ends.b, { rxFrames: N, txFrames: 1 });
  const direct = s.links.find((l) => l.id === down.id)!;
  t.like(direct, { mode: 'direct', up: true, aToB: null, bToA: null });
  t.like(direct.ends.a, { txFrames: N + 1 - 1, rxFrames: 1 });
  for (const w of s.workers) {
    t.true(w.alive);
    t.true(w.elu !== null && w.elu.utilization >= 0 && w.elu.utilization <= 1);
  }
  t.true(s.workers[1]!.loop!.frames >= N);

  // Unlink: the ring link disappears, the hub loses the port, the gen's frames go nowhere.
  await dp.unlink(up);
  await dp.unlink(up); // idempotent
  const s2 = await dp.stats();
  t.false(s2.links.some((l) => l.id === up.id));
  t.is((s2.workers[1]!.engines.find((e) => e.id === hub.id)!.stats as L2HubStats).ports.length, 1);
  await dp.command(gen, 'send', { count: 10, dst: SINK_MAC });
  t.like((await dp.stats()).workers[1]!.engines.find((e) => e.id === sink.id)!.stats, { received: N });

  await dp.close();
  await dp.close(); // idempotent
  t.deepEqual(errors, []);
  await assertNoLeak(t, before);
});

test.serial('a busy worker still answers control messages and runs timers', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2 });
  const gen = await dp.create({ kind: 'gen' }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink' }, { worker: 1 });
  await dp.link(gen, sink, { policy: 'wait', maxWaitMs: 1000 });
  const N = 400_000;
  const sending = dp.command(gen, 'send', { count: N, burst: 128, size: 64 });
  await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  const s = await dp.stats();
  const latencyMs = performance.now() - t0;
  const sent = (s.workers[0]!.engines[0]!.stats as { sent: number }).sent;
  t.log(`stats answered in ${latencyMs.toFixed(1)} ms with ${sent} of ${N} frames sent`);
  t.true(latencyMs < 500);
  await sending;
  // The sink's 'wait' polls on a 2 ms engine timer: it resolves while frames still stream in.
  t.is(await dp.command(sink, 'wait', { count: N }), N);
  const s2 = await dp.stats();
  t.true(s2.workers[0]!.loop!.yields > 0, 'the generating worker yielded to its event loop');
  t.like(s2.workers[1]!.engines[0]!.stats, { received: N, outOfOrder: 0 });
  await dp.close();
  await assertNoLeak(t, before);
});

test.serial('an engine handler that throws costs that frame only: counted, and the loop goes on', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  const gen = await dp.create({ kind: 'gen' }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { throwEvery: 10 } }, { worker: 1 });
  const link = await dp.link(gen, sink, { policy: 'wait', maxWaitMs: 1000 });
  await dp.command(gen, 'send', { count: 1000 });
  t.is(await dp.command(sink, 'wait', { count: 900 }), 900);
  // The sink reaches 900 at frame 999; frame 1000 (the 100th to throw) and the ring's consumed
  // counter, published by the consumer after its batch, may land a moment later.
  let s = await dp.stats();
  for (let i = 0; i < 200 && s.links.find((x) => x.id === link.id)!.aToB!.consumed < 1000; i++) {
    await new Promise((r) => setTimeout(r, 5));
    s = await dp.stats();
  }
  t.like(s.workers[1]!.engines[0]!.stats, { received: 900, outOfOrder: 0 });
  t.is(s.workers[1]!.loop!.handlerErrors, 100);
  const l = s.links.find((x) => x.id === link.id)!;
  t.like(l.ends.b, { rxFrames: 1000, drops: { 'send-failed': 100 } });
  t.like(l.aToB, { consumed: 1000, inFlight: 0 });
});
