import test from 'ava';
import { WorkerDeadError, type WorkerErrorEvent } from '../../src/dataplane/index.js';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

const SINK_MAC = 0x0200_0000_0bbb;

/** The first 'error' event of `dp`. */
function nextError(dp: { once(ev: 'error', l: (e: WorkerErrorEvent) => void): unknown }): Promise<WorkerErrorEvent> {
  return new Promise((resolve) => dp.once('error', resolve));
}

for (const how of ['throw', 'exit'] as const) {
  test.serial(`a worker that dies (${how}) mid-flow takes its links down; the others keep moving traffic`, async (t) => {
    const before = await snapshot();
    const dp = startDataplane(t, { workers: 3 });
    // Worker 0 feeds two links: one to worker 2 (survives), one to worker 1 (dies).
    const genA = await dp.create({ kind: 'gen' }, { worker: 0 });
    const sinkA = await dp.create({ kind: 'sink', options: { mac: SINK_MAC } }, { worker: 2 });
    const genB = await dp.create({ kind: 'gen' }, { worker: 0 });
    const hub = await dp.create({ kind: 'l2hub' }, { worker: 1 });
    const crash = await dp.create({ kind: 'crash' }, { worker: 1 });
    const good = await dp.link(genA, sinkA, { policy: 'wait', maxWaitMs: 1000 });
    const doomed = await dp.link(genB, hub, { slots: 64 });
    await dp.link(hub, crash);

    // Traffic on both before the crash.
    const flowing = dp.command(genA, 'send', { count: 50_000, burst: 32, dst: SINK_MAC });
    await dp.command(genB, 'send', { count: 100 });

    const died = nextError(dp);
    t.is(await dp.command(crash, how), 'armed');
    const e = await died;
    t.is(e.worker, 1);
    t.deepEqual([...e.engines].sort(), [hub.id, crash.id].sort());
    t.true(e.error instanceof Error);
    if (how === 'throw') t.regex(e.error.message, /crash engine: boom/);
    else t.regex(e.error.message, /exited with code 7/);

    // The other pair keeps going: every frame of the flow arrives, in order.
    t.deepEqual(await flowing, { sent: 50_000 });
    t.is(await dp.command(sinkA, 'wait', { count: 50_000 }), 50_000);
    // Frames sent into the dead worker's link are dropped as 'closed', not queued.
    await dp.command(genB, 'send', { count: 500 });

    const s = await dp.stats();
    t.false(s.workers[1]!.alive);
    t.is(s.workers[1]!.elu, null);
    t.deepEqual(s.workers[1]!.engines.map((x) => x.stats), [null, null]);
    t.true(s.workers[0]!.alive && s.workers[2]!.alive);
    t.like(s.workers[2]!.engines[0]!.stats, { received: 50_000, outOfOrder: 0 });
    const d = s.links.find((l) => l.id === doomed.id)!;
    t.false(d.up);
    t.is(d.ends.b, null);
    t.true(d.aToB!.closed && d.bToA!.closed);
    t.is(d.aToB!.drops['closed'], 500);
    t.is(d.ends.a!.drops['closed'], 500);
    t.true(s.links.find((l) => l.id === good.id)!.up);

    // A dead worker refuses new work with a typed error.
    const dead = await t.throwsAsync(dp.create({ kind: 'l2hub' }, { worker: 1 }), { instanceOf: WorkerDeadError });
    t.is(dead.code, 'ERR_PKT_CLOSED');
    t.is((dead as WorkerDeadError).worker, 1);
    await t.throwsAsync(dp.link(genA, hub), { instanceOf: WorkerDeadError });
    await t.throwsAsync(dp.command(hub, 'macCount'), { instanceOf: WorkerDeadError });
    // Automatic placement skips it.
    const placed = await dp.create({ kind: 'l2hub' });
    t.not(placed.worker, 1);
    // The survivor's end of the dead link can still be removed.
    await dp.unlink(doomed);

    await dp.close();
    await assertNoLeak(t, before);
  });
}

test.serial('close() terminates a worker that does not exit by itself, after closeTimeoutMs', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2, closeTimeoutMs: 200 });
  await dp.create({ kind: 'stubborn' }, { worker: 1 });
  await dp.create({ kind: 'l2hub' }, { worker: 0 });
  const t0 = performance.now();
  await dp.close();
  const ms = performance.now() - t0;
  t.log(`closed in ${ms.toFixed(0)} ms`);
  t.true(ms >= 150 && ms < 2000);
  await assertNoLeak(t, before);
});

test.serial('close() right after the constructor, before ready, ends everything', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2 });
  await dp.close();
  await assertNoLeak(t, before);
});
