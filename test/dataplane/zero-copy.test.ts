/**
 * Zero-copy links: frames allocated in a worker's pool cross workers as descriptors, are worked on
 * in place, and go home to their owner; what is not a live pool frame is copied once (counted);
 * pool exhaustion, a dead worker holding frames, and unlinking under traffic.
 */

import test, { type ExecutionContext } from 'ava';
import { FramePoolOwner, IndexConsumer, IndexProducer, closeIndexRing, createFramePool, createIndexRing, indexRingStats, pendingDescriptors } from '../../rings/index.js';
import { ConfigError, PktRangeError } from '../../src/errors.js';
import type { Dataplane, DataplaneStats, LinkRef, WorkerErrorEvent } from '../../src/dataplane/index.js';
import { countScavenges } from '../helpers/alloc.js';
import { assertNoLeak, snapshot, startDataplane, until } from '../helpers/dp.js';
import { ZC_ENGINES_URL } from '../helpers/dp-zc-engines.js';

const SINK_MAC = 0x0200_0000_0d01;

interface SinkStats {
  received: number;
  bytes: number;
  outOfOrder: number;
  corrupt: number;
  marked: number;
  inPlace: number;
}

interface GenStats {
  sent: number;
  allocFailed: number;
}

function engineStats<T>(s: DataplaneStats, id: string): T {
  for (const w of s.workers) for (const e of w.engines) if (e.id === id) return e.stats as T;
  throw new Error(`no engine ${id}`);
}

function link(s: DataplaneStats, ref: LinkRef): DataplaneStats['links'][number] {
  const l = s.links.find((x) => x.id === ref.id);
  if (l === undefined) throw new Error(`no link ${ref.id}`);
  return l;
}

/** Waits until every live worker's pool has all its frames back (or `lostOk` of them lost), then checks it. */
async function assertPoolsHome(t: ExecutionContext, dp: Dataplane): Promise<DataplaneStats> {
  let s = await dp.stats();
  await until(async () => {
    s = await dp.stats();
    return s.workers.every((w) => !w.alive || (w.pool !== null && w.pool.inUse === w.pool.lost));
  });
  for (const w of s.workers) {
    if (!w.alive) continue;
    const p = w.pool!;
    t.is(p.inUse, p.lost, `worker ${w.index}: every frame back home (in use ${p.inUse}, lost ${p.lost})`);
    t.is(p.free + p.inUse, p.frames);
    t.is(p.doubleFrees, 0, `worker ${w.index}: no frame freed twice`);
    t.is(p.badDescriptors, 0);
  }
  return s;
}

for (const variant of ['3 workers: A -> B -> C', '2 workers: A -> B -> A'] as const) {
  test.serial(`allocFrame -> zero-copy -> in-place stage -> zero-copy -> sink (${variant}): in order, byte-exact, in the generator's pool, all frames home`, async (t) => {
    const three = variant.startsWith('3');
    const before = await snapshot();
    const dp = startDataplane(t, { workers: three ? 3 : 2, pool: { frames: 256, frameSize: 1024, headroom: 32 }, modules: [ZC_ENGINES_URL] });
    const gen = await dp.create({ kind: 'gen', options: { alloc: true } }, { worker: 0 });
    const mark = await dp.create({ kind: 'mark' }, { worker: 1 });
    const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC, pattern: true } }, { worker: three ? 2 : 0 });
    const l1 = await dp.link(gen, mark, { zeroCopy: true });
    const l2 = await dp.link(mark, sink, { zeroCopy: true });
    t.is(l1.mode, 'zero-copy');
    t.is(l2.mode, 'zero-copy');

    const N = 20_000;
    t.deepEqual(await dp.command(gen, 'send', { count: N, burst: 64, size: 700, dst: SINK_MAC }), { sent: N });
    t.is(await dp.command(sink, 'wait', { count: N, timeoutMs: 20_000 }), N);

    const s = await assertPoolsHome(t, dp);
    t.like(engineStats<SinkStats>(s, sink.id), { received: N, bytes: N * 700, outOfOrder: 0, corrupt: 0, marked: N, inPlace: N });
    // The stage's mark is in the generator's own pool memory: written there by worker 1, in place.
    const peek = (await dp.command(gen, 'peek')) as { frames: number; marked: number };
    t.true(peek.frames > 0 && peek.frames <= 256);
    t.is(peek.marked, peek.frames);
    for (const l of [link(s, l1), link(s, l2)]) {
      t.like(l.aToB, { pushed: N, consumed: N, inFlight: 0, dropped: 0, pushedBytes: N * 700, consumedBytes: N * 700 });
      t.deepEqual(l.zeroCopy!.aToB, { forwarded: N, copies: 0, copiedBytes: 0 });
      t.like(l.ends.a, { txFrames: N, dropped: 0 });
      t.like(l.ends.b, { rxFrames: N, dropped: 0 });
    }
    const p0 = s.workers[0]!.pool!;
    t.true(p0.highWater > 0 && p0.highWater <= 256);
    t.log(`generator pool high water ${p0.highWater} of 256, exhausted ${p0.exhausted}`);
    // Frames of worker 0's pool that ended elsewhere came back through completion rings.
    if (three) t.true(s.workers[2]!.pool!.completionsSent >= N);
    else t.is(s.workers[1]!.pool!.completionsSent, 0, 'A -> B -> A: the last holder is the owner');

    await dp.close();
    await assertNoLeak(t, before);
  });
}

test.serial('an ordinary buffer on a zero-copy link arrives intact, counted as a copy', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  const gen = await dp.create({ kind: 'gen', options: { pattern: true } }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC, pattern: true } }, { worker: 1 });
  const l = await dp.link(gen, sink, { zeroCopy: true });
  // Fewer frames than the sender's pool holds (4096 by default): a zero-copy link never waits for
  // room, so a receiver lagging on a loaded machine would otherwise see pool-empty drops.
  const N = 3000;
  await dp.command(gen, 'send', { count: N, size: 300, dst: SINK_MAC });
  t.is(await dp.command(sink, 'wait', { count: N }), N);
  const s = await assertPoolsHome(t, dp);
  t.like(engineStats<SinkStats>(s, sink.id), { received: N, outOfOrder: 0, corrupt: 0, inPlace: 0 });
  t.deepEqual(link(s, l).zeroCopy!.aToB, { forwarded: 0, copies: N, copiedBytes: N * 300 });
});

test.serial('a frame an L2Hub floods to two zero-copy links arrives on both: one forwarded, one copied', async (t) => {
  const dp = startDataplane(t, { workers: 3 });
  const gen = await dp.create({ kind: 'gen', options: { alloc: true } }, { worker: 0 });
  const hub = await dp.create({ kind: 'l2hub' }, { worker: 1 });
  const s1 = await dp.create({ kind: 'sink', options: { pattern: true } }, { worker: 2 });
  const s2 = await dp.create({ kind: 'sink', options: { pattern: true } }, { worker: 0 });
  await dp.link(gen, hub, { zeroCopy: true });
  const l1 = await dp.link(hub, s1, { zeroCopy: true });
  const l2 = await dp.link(hub, s2, { zeroCopy: true });
  const N = 3000;
  await dp.command(gen, 'send', { count: N, size: 200 }); // broadcast: flooded
  t.is(await dp.command(s1, 'wait', { count: N }), N);
  t.is(await dp.command(s2, 'wait', { count: N }), N);
  const s = await assertPoolsHome(t, dp);
  for (const id of [s1.id, s2.id]) t.like(engineStats<SinkStats>(s, id), { received: N, outOfOrder: 0, corrupt: 0 });
  const z1 = link(s, l1).zeroCopy!.aToB;
  const z2 = link(s, l2).zeroCopy!.aToB;
  t.log(`hub -> sink 1: ${JSON.stringify(z1)}; hub -> sink 2: ${JSON.stringify(z2)}`);
  t.is(z1.forwarded + z2.forwarded, N);
  t.is(z1.copies + z2.copies, N);
  t.is(z1.copiedBytes + z2.copiedBytes, N * 200);
  t.true((z1.copies === 0 && z2.forwarded === 0) || (z2.copies === 0 && z1.forwarded === 0), 'the hub floods to its ports in one order');
});

test.serial('pool exhaustion: allocFrame returns null (counted), nothing throws, traffic resumes once the consumer drains', async (t) => {
  const dp = startDataplane(t, { workers: 2, pool: { frames: 16, frameSize: 256 } });
  const errors: WorkerErrorEvent[] = [];
  dp.on('error', (e) => errors.push(e));
  const gen = await dp.create({ kind: 'gen', options: { alloc: true } }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC, pattern: true } }, { worker: 1 });
  await dp.link(gen, sink, { zeroCopy: true });
  // The consumer stops draining for a while: the 16 frames are soon all in its ring.
  const stalled = dp.command(sink, 'stall', 300);
  const N = 2000;
  const sent = dp.command(gen, 'send', { count: N, burst: 8, size: 100, dst: SINK_MAC });
  await until(async () => ((await dp.stats()).workers[0]!.pool?.exhausted ?? 0) > 0, 2000);
  const during = await dp.stats();
  t.true(during.workers[0]!.pool!.exhausted > 0);
  t.is(during.workers[0]!.pool!.highWater, 16);
  await stalled;
  t.deepEqual(await sent, { sent: N });
  t.is(await dp.command(sink, 'wait', { count: N }), N);
  const s = await assertPoolsHome(t, dp);
  t.like(engineStats<SinkStats>(s, sink.id), { received: N, outOfOrder: 0, corrupt: 0, inPlace: N });
  const g = engineStats<GenStats>(s, gen.id);
  t.true(g.allocFailed > 0);
  t.is(s.workers[0]!.pool!.exhausted, g.allocFailed);
  t.deepEqual(errors, []);
});

test.serial('a worker killed holding frames of another pool: survivors run on, the lost frames are counted, close leaks nothing', async (t) => {
  const before = await snapshot();
  // batch 1: the slow sink takes one frame per round, so the crash command runs while the rest wait in its ring.
  const dp = startDataplane(t, { workers: 3, batch: 1, pool: { frames: 512, frameSize: 512 } });
  const gen = await dp.create({ kind: 'gen', options: { alloc: true } }, { worker: 0 });
  const gen2 = await dp.create({ kind: 'gen', options: { alloc: true } }, { worker: 0 });
  const doomedSink = await dp.create({ kind: 'sink', options: { delayUs: 2000 } }, { worker: 1 });
  const doomedGen = await dp.create({ kind: 'gen', options: { alloc: true } }, { worker: 1 });
  const crash = await dp.create({ kind: 'crash' }, { worker: 1 });
  const sinkC = await dp.create({ kind: 'sink', options: { pattern: true } }, { worker: 2 });
  const slowC = await dp.create({ kind: 'sink', options: { delayUs: 2000 } }, { worker: 2 });
  await dp.link(gen, doomedSink, { zeroCopy: true });
  await dp.link(gen2, sinkC, { zeroCopy: true });
  await dp.link(doomedGen, slowC, { zeroCopy: true });

  // Worker 1 gets 100 of worker 0's frames (it takes ~2 ms each) and sends 50 of its own to a slow sink on worker 2.
  await dp.command(gen, 'send', { count: 100, burst: 100, size: 200 });
  await dp.command(doomedGen, 'send', { count: 50, burst: 50, size: 200 });
  const died = new Promise<WorkerErrorEvent>((resolve) => dp.once('error', resolve));
  t.is(await dp.command(crash, 'exit'), 'armed');
  const e = await died;
  t.is(e.worker, 1);

  // The survivors: worker 0's other flow to worker 2 keeps moving.
  const M = 5000;
  t.deepEqual(await dp.command(gen2, 'send', { count: M, size: 300 }), { sent: M });
  t.is(await dp.command(sinkC, 'wait', { count: M }), M);
  // Worker 2 finishes the dead worker's frames; their completions have nowhere to go.
  t.is(await dp.command(slowC, 'wait', { count: 50 }), 50);

  const s = await assertPoolsHome(t, dp);
  t.false(s.workers[1]!.alive);
  t.is(s.workers[1]!.pool, null);
  const p0 = s.workers[0]!.pool!;
  const received = engineStats<SinkStats>(s, slowC.id).received;
  t.log(`worker 0's pool: ${p0.lost} frames lost with worker 1, ${p0.inUse} in use; worker 2 discarded ${s.workers[2]!.pool!.completionsDiscarded}`);
  t.true(p0.lost > 0 && p0.lost <= 100, 'worker 1 died with some of the 100 frames unread');
  t.is(p0.inUse, p0.lost, 'exactly the lost frames are missing from the pool');
  t.like(engineStats<SinkStats>(s, sinkC.id), { received: M, outOfOrder: 0, corrupt: 0, inPlace: M });
  t.is(received, 50);
  const discarded = s.workers[2]!.pool!.completionsDiscarded;
  t.true(discarded > 0 && discarded <= 50, 'frames of the dead pool finished after its death are dropped');

  await dp.close();
  await assertNoLeak(t, before);
});

test.serial('unlinking a zero-copy link under traffic gives every frame back', async (t) => {
  const dp = startDataplane(t, { workers: 2, pool: { frames: 128, frameSize: 512 } });
  const gen = await dp.create({ kind: 'gen', options: { alloc: true } }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { delayUs: 50 } }, { worker: 1 });
  const l = await dp.link(gen, sink, { zeroCopy: true });
  const sending = dp.command(gen, 'send', { count: 3000, burst: 32, size: 200 });
  await until(async () => ((await dp.stats()).links[0]?.aToB?.inFlight ?? 0) > 10, 2000);
  await dp.unlink(l);
  await sending;
  const s = await assertPoolsHome(t, dp);
  t.is(s.workers[0]!.pool!.inUse, 0);
  t.is(s.links.length, 0);
});

test.serial('zero-copy options: byte-ring options and pool: false are refused with clear errors', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  const a = await dp.create({ kind: 'sink' }, { worker: 0 });
  const b = await dp.create({ kind: 'sink' }, { worker: 1 });
  await t.throwsAsync(dp.link(a, b, { zeroCopy: true, slotSize: 1024 }), { instanceOf: ConfigError, message: /slotSize is a byte-ring option/ });
  await t.throwsAsync(dp.link(a, b, { zeroCopy: true, policy: 'wait' }), { instanceOf: ConfigError, message: /never waits/ });
  await t.throwsAsync(dp.link(a, b, { zeroCopy: true, slots: 1000 }), { instanceOf: PktRangeError, message: /power of two/ });
  // On one worker a zero-copy link is a direct link: nothing to copy in the first place.
  const c = await dp.create({ kind: 'sink' }, { worker: 0 });
  t.is((await dp.link(a, c, { zeroCopy: true })).mode, 'direct');

  t.throws(() => startDataplane(t, { workers: 2, pool: { frames: 2 ** 22 + 1 } }), { instanceOf: PktRangeError, message: /pool\.frames: .*22 bits/ });
  t.throws(() => startDataplane(t, { workers: 2, pool: { frameSize: 65536 } }), { instanceOf: PktRangeError, message: /pool\.frameSize/ });
  t.throws(() => startDataplane(t, { workers: 2, pool: { frameSize: 1004 } }), { instanceOf: PktRangeError, message: /multiple of 8/ });
  const none = startDataplane(t, { workers: 2, pool: false });
  const x = await none.create({ kind: 'sink' }, { worker: 0 });
  const y = await none.create({ kind: 'sink' }, { worker: 1 });
  await t.throwsAsync(none.link(x, y, { zeroCopy: true }), { instanceOf: ConfigError, message: /pool: false/ });
  t.is((await none.stats()).workers[0]!.pool, null);
});

test('the zero-copy path allocates nothing per frame: alloc, forward, deliver, give back, reclaim (2M frames, and 500k fallback copies)', (t) => {
  const url = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
  // Both workers' sides on one thread: broker A allocates and forwards over a zero-copy device
  // pair, broker B's device delivers, B gives the frames back through a completion ring, A reclaims.
  const body = `
    import { FrameBroker, holdingsStride } from ${url('../../src/dataplane/frame-broker.js')};
    import { ZeroCopyL2Device } from ${url('../../src/dataplane/zero-copy-device.js')};
    import { Doorbell, createFramePool, createIndexRing } from ${url('../../rings/index.js')};
    const hook = { inRound: true, schedulePublish() {} };
    const pools = [createFramePool(512, 2048), createFramePool(512, 2048)];
    const stride = holdingsStride(2);
    const holdings = new SharedArrayBuffer(2 * stride * 4);
    const A = new FrameBroker(0, pools, 64, holdings, stride, hook);
    const B = new FrameBroker(1, pools, 64, holdings, stride, hook);
    const c = createIndexRing(512);
    B.addCompletionOut(0, c);
    A.addCompletionIn(c);
    const ab = createIndexRing(1024), ba = createIndexRing(1024);
    const cab = new SharedArrayBuffer(128), cba = new SharedArrayBuffer(128);
    const da = new ZeroCopyL2Device({ out: ab, in: ba, outCounters: cab, inCounters: cba, peerDoorbell: new Doorbell() }, A, hook, 1);
    const db = new ZeroCopyL2Device({ out: ba, in: ab, outCounters: cba, inCounters: cab, peerDoorbell: new Doorbell() }, B, hook, 2);
    A.addPort(da);
    B.addPort(db);
    let sum = 0;
    db.setHandler((f) => { sum += f[20]; });
    const plain = new Uint8Array(200);
    function round(copy) {
      A.reclaim();
      for (let k = 0; k < 32; k++) {
        const f = copy ? plain : A.alloc(200);
        if (f === null) break;
        f[20] = 1;
        da.send(f);
      }
      A.endScope();
      A.publish();
      db.drain(256);
      B.publish();
    }
    function run(rounds, copy) { for (let r = 0; r < rounds; r++) round(copy); }
    run(2000, false); // warm-up: one cached view per pool frame
    run(2000, true);
    run(62500, false);
    run(15625, true);
    const s = A.stats();
    if (sum !== 32 * (2000 + 2000 + 62500 + 15625) || s.doubleFrees !== 0 || B.stats().badDescriptors !== 0) throw new Error('lost frames: ' + sum + ' ' + JSON.stringify(s));
  `;
  const scavenges = countScavenges(body);
  t.log(`${scavenges} scavenges`);
  t.true(scavenges <= 3, `${scavenges} scavenges: the zero-copy path allocates`);
});

// ---------------------------------------------------------------------------------------------
// The rings additions zero-copy links rely on (rings/index-ring.ts, rings/frame-pool.ts)

test('IndexProducer.pushBatch queues in order with one look at the ring; a full or closed ring drops the rest, counted', (t) => {
  const d = createIndexRing(4, -2); // counters cross the int32 wrap
  const p = new IndexProducer(d);
  const c = new IndexConsumer(d);
  const src = Int32Array.of(1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60);
  t.is(p.pushBatch(src, 0), 0);
  t.is(p.pushBatch(src, 3), 3);
  t.is(p.pushBatch(src.subarray(6), 3), 1, 'one slot left');
  p.publish();
  const got: number[] = [];
  c.poll((a, b) => got.push(a, b));
  t.deepEqual(got, [1, 10, 2, 20, 3, 30, 4, 40]);
  t.like(indexRingStats(d), { pushed: 4, dropFull: 2, consumed: 4, inFlight: 0 });
  t.is(p.pushBatch(src, 2), 2, 'room again once consumed');
  p.publish();
  t.deepEqual([...pendingDescriptors(d)], [1, 10, 2, 20], 'what is published and not consumed');
  closeIndexRing(d);
  t.true(p.closed);
  t.is(p.pushBatch(src, 3), 0);
  t.like(indexRingStats(d), { pushed: 6, dropClosed: 3 });
});

test('FramePoolOwner: frames released by the owner are reused first, frames that come back from elsewhere last', (t) => {
  const pool = new FramePoolOwner(createFramePool(4, 64));
  t.deepEqual([pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()], [0, 1, 2, 3]);
  t.is(pool.highWater, 4);
  pool.releaseCold(1); // came back through a completion ring
  pool.release(3); // the owner's own
  pool.releaseCold(0);
  pool.release(2);
  t.is(pool.inUse, 0);
  t.deepEqual([pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()], [2, 3, 1, 0], 'warm end first, then the cold end in the order they came back');
  t.is(pool.alloc(), -1);
  t.is(pool.exhausted, 1);
  // Through a completion ring: the cold end.
  const ring = createIndexRing(4);
  pool.addCompletionRing(new IndexConsumer(ring));
  const back = new IndexProducer(ring);
  pool.release(2);
  back.push(0, 0);
  back.publish();
  t.is(pool.reclaim(), 1);
  t.deepEqual([pool.alloc(), pool.alloc()], [2, 0]);
});

test('FramePoolOwner: a frame returned twice, or an index outside the pool, is counted and never handed out twice', (t) => {
  const pool = new FramePoolOwner(createFramePool(3, 64));
  const a = pool.alloc();
  pool.release(a);
  pool.release(a);
  pool.releaseCold(a);
  pool.release(7);
  pool.releaseCold(-1);
  t.is(pool.doubleFrees, 2);
  t.is(pool.badReturns, 2);
  t.is(pool.available, 3);
  const out = [pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()];
  t.deepEqual([...out].sort(), [-1, 0, 1, 2]);
});
