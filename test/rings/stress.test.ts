/**
 * rings/ across real threads: SpscRing, IndexRing, FramePool and the doorbell, driven by the
 * roles in stress-worker.ts with random frame sizes, random batches on both sides and random
 * pauses (busy waits and sleeps). Every frame's bytes are a function of its sequence number
 * (helpers/ring-frames.ts), so loss, duplication, reordering and torn or overwritten frames show.
 *
 * Serial: the machine has two cores, and two of these tests at once would only measure each
 * other. Seeds are fixed (PKTKIT_RINGS_SEED overrides them, for repeated runs); the thread
 * interleaving is not, which is the point. Each test terminates its workers in a teardown,
 * whatever happens, and the last test checks that no worker is left.
 */

import test, { type ExecutionContext } from 'ava';
import { Worker } from 'node:worker_threads';
import {
  Doorbell,
  closeRing,
  createFramePool,
  createIndexRing,
  createRing,
  indexRingStats,
  ringStats,
  type RingDescriptor,
} from '../../rings/index.js';
import { frameLen, getBit, newBitmap } from '../helpers/ring-frames.js';
import type {
  ConsumerResult,
  FillOwnerConfig,
  FillPeerConfig,
  PauseConfig,
  PoolOwnerResult,
  PoolPeerResult,
  ProducerResult,
  SpscConsumerConfig,
  SpscProducerConfig,
  WaitCloseResult,
  WorkerConfig,
  ZcOwnerConfig,
  ZcPeerConfig,
} from './stress-worker.js';

const WORKER_URL = new URL('./stress-worker.js', import.meta.url);
const SEED = Number.parseInt(process.env.PKTKIT_RINGS_SEED ?? '', 10) || 0x5eed_0001;
/** Whatever one group of workers may take on a loaded machine before the test gives up. */
const RUN_TIMEOUT_MS = 40_000;

/** Every Worker these tests started, for the final leak check. */
const spawned: Worker[] = [];
let baselinePorts = 0;
const countOf = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;

test.before(() => {
  baselinePorts = countOf('MessagePort');
});

/**
 * Starts one worker per config and resolves with their results, in order, once all have posted
 * one and exited. Rejects if one fails, exits without a result, or the group overruns; the
 * teardown terminates them all in every case.
 */
function startWorkers(t: ExecutionContext, configs: WorkerConfig[], timeoutMs = RUN_TIMEOUT_MS): Promise<unknown[]> {
  const workers = configs.map((c) => new Worker(WORKER_URL, { workerData: c }));
  spawned.push(...workers);
  t.teardown(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });
  const done = workers.map(
    (w, k) =>
      new Promise<unknown>((resolve, reject) => {
        const role = configs[k]!.role;
        let result: unknown;
        let got = false;
        w.on('message', (m: unknown) => {
          result = m;
          got = true;
        });
        w.once('error', (e) => reject(new Error(`${role} worker failed`, { cause: e })));
        w.once('exit', (code) => (got ? resolve(result) : reject(new Error(`${role} worker exited (${code}) without a result`))));
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`workers still running after ${timeoutMs} ms`)), timeoutMs);
  });
  const all = Promise.race([Promise.all(done), overrun]).finally(() => clearTimeout(timer));
  all.catch(() => {}); // handled by whoever awaits it; no unhandled rejection in between
  return all;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sumLens(n: number, minLen: number, maxLen: number): number {
  let s = 0;
  for (let seq = 0; seq < n; seq++) s += frameLen(seq, minLen, maxLen);
  return s;
}

const BUSY: PauseConfig = { spinEvery: 64, spinMaxUs: 20, sleepEvery: 4096, sleepMaxMs: 1 };

function producer(ring: RingDescriptor, over: Partial<SpscProducerConfig>): SpscProducerConfig {
  return {
    role: 'spsc-producer',
    ring,
    policy: 'wait',
    maxWaitMs: 5000,
    bell: null,
    n: 0,
    seed: SEED,
    minLen: 1,
    maxLen: ring.slotSize - ring.headroom,
    batchMax: 32,
    pause: BUSY,
    reserveEvery: 16,
    burst: null,
    dropMap: null,
    closeAtEnd: false,
    ...over,
  };
}

function consumer(ring: RingDescriptor, over: Partial<SpscConsumerConfig>): SpscConsumerConfig {
  return {
    role: 'spsc-consumer',
    ring,
    bell: new Doorbell().sab,
    n: 0,
    seed: SEED ^ 0x00c0_ffee,
    minLen: 1,
    maxLen: ring.slotSize - ring.headroom,
    pollMax: 64,
    pause: BUSY,
    recheckMaxUs: 0,
    seqInFrame: false,
    seqLimit: 0,
    recvMap: null,
    wake: 'park',
    parkTimeoutMs: 1000,
    timerMs: 0,
    earlyRelease: false,
    ...over,
  };
}

/** A producer and a consumer on `ring` with the 'wait' policy: every frame arrives, once, in order, exact. */
async function lossless(t: ExecutionContext, ring: RingDescriptor, n: number, p: Partial<SpscProducerConfig>, c: Partial<SpscConsumerConfig>) {
  const bell = new Doorbell();
  const pc = producer(ring, { n, bell: bell.sab, ...p });
  const cc = consumer(ring, { n, bell: bell.sab, ...c });
  t.log(`PKTKIT_RINGS_SEED=${SEED}`);
  const [pr, cr] = (await startWorkers(t, [pc, cc])) as [ProducerResult, ConsumerResult];
  const st = ringStats(ring);
  t.deepEqual(cr.errors, []);
  t.is(pr.dropped, 0, 'the wait policy drops nothing');
  t.is(cr.received, n);
  t.is(cr.badFrames, 0);
  t.is(cr.overwrites, 0);
  t.is(st.DropFull, 0);
  t.is(st.DropTooBig, 0);
  t.is(st.Pushed, n);
  t.is(st.Consumed, n);
  t.is(st.inFlight, 0);
  const bytes = sumLens(n, pc.minLen, pc.maxLen);
  t.is(st.PushedBytes, bytes);
  t.is(st.ConsumedBytes, bytes);
  return { pr, cr, st, bell };
}

// ---------------------------------------------------------------------------------------------

test.serial('wait policy, 3M frames of 1..112 B, random batches and pauses on both sides: no loss, no duplicate, in order, exact', async (t) => {
  const ring = createRing({ slots: 256, slotSize: 128, headroom: 16 });
  const { pr, cr, st, bell } = await lossless(t, ring, 3_000_000, {}, {});
  t.true(pr.reserved > 0, 'some frames were built in place with reserve/commit');
  t.log(`waits ${st.Waits}, producer wakeups ${st.ProducerWakeups}, parks ${cr.parks}, doorbell wakeups ${bell.wakeups}`);
});

test.serial('no slot is overwritten while it is read: 8 slots, the consumer reads, pauses, reads again', async (t) => {
  const ring = createRing({ slots: 8, slotSize: 128, headroom: 16 });
  const { st } = await lossless(t, ring, 300_000, { batchMax: 4, pause: null }, { pollMax: 8, recheckMaxUs: 5, pause: null });
  t.true(st.Waits > 1000, `the producer kept waiting on the consumer (${st.Waits} waits)`);
  t.true(st.ProducerWakeups > 0);
});

test.serial('control: a consumer that releases each slot before it has finished reading it is caught', async (t) => {
  // Shows that the detector above can fail: this consumer releases early (through the TAIL cell),
  // the waiting producer refills that very slot during the pause, and the second read differs.
  const ring = createRing({ slots: 8, slotSize: 128, headroom: 16 });
  const bell = new Doorbell();
  const [, cr] = (await startWorkers(t, [
    producer(ring, { n: 3000, bell: bell.sab, batchMax: 1, pause: null, reserveEvery: 0 }),
    consumer(ring, { n: 3000, bell: bell.sab, pollMax: 1, pause: null, recheckMaxUs: 300, earlyRelease: true }),
  ])) as [ProducerResult, ConsumerResult];
  t.true(cr.overwrites > 0, `overwrites seen: ${cr.overwrites}`);
});

test.serial('drop policy, fast producer and slow consumer: every frame is received in order and exact, or counted in DropFull', async (t) => {
  const n = 1_000_000;
  const ring = createRing({ slots: 64, slotSize: 128, headroom: 16 });
  const bell = new Doorbell();
  const dropMap = newBitmap(n);
  const recvMap = newBitmap(n);
  const [pr, cr] = (await startWorkers(t, [
    producer(ring, { n, policy: 'drop', bell: bell.sab, minLen: 4, batchMax: 16, pause: null, dropMap, closeAtEnd: true }),
    consumer(ring, {
      n: -1,
      bell: bell.sab,
      minLen: 4,
      pollMax: 16,
      pause: { spinEvery: 1, spinMaxUs: 6, sleepEvery: 2000, sleepMaxMs: 1 },
      seqInFrame: true,
      seqLimit: n,
      recvMap,
    }),
  ])) as [ProducerResult, ConsumerResult];
  const st = ringStats(ring);
  t.deepEqual(cr.errors, []);
  t.is(cr.badFrames, 0);
  t.true(st.DropFull > 0, 'the consumer was slow enough to fill the ring');
  t.true(cr.received > 0);
  t.is(pr.dropped, st.DropFull);
  t.is(cr.received + st.DropFull, n, 'received + dropped = sent');
  t.is(st.Consumed, cr.received);
  t.is(st.Pushed, cr.received);
  t.true(st.closed);
  const drops = new Int32Array(dropMap);
  const recv = new Int32Array(recvMap);
  let both = 0;
  let neither = 0;
  for (let seq = 0; seq < n; seq++) {
    const d = getBit(drops, seq);
    const r = getBit(recv, seq);
    if (d && r) both++;
    if (!d && !r) neither++;
  }
  t.is(both, 0, 'no frame both dropped and received');
  t.is(neither, 0, 'no frame lost without being counted');
  t.log(`received ${cr.received}, dropped ${st.DropFull}`);
});

const wrapCase = test.macro({
  async exec(t, initialCounter: number) {
    const n = 400_000;
    const ring = createRing({ slots: 64, slotSize: 128, headroom: 16, initialCounter });
    await lossless(t, ring, n, { batchMax: 48 }, { pollMax: 48 });
    // HEAD (Int32 0 of the control block, rings/spsc-ring.ts) really went round.
    const head = Atomics.load(new Int32Array(ring.sab, 0, 1), 0);
    t.is(head, (initialCounter + n) | 0);
  },
  title: (what = '', initialCounter: number) => `wrap-around across threads: counters from ${initialCounter} ${what}`.trim(),
});
test.serial(wrapCase, -1000);
test.serial('(int32 sign flip)', wrapCase, 2 ** 31 - 1000);

test.serial('waking: the consumer parks between bursts and is always woken (no lost wake-up)', async (t) => {
  const ring = createRing({ slots: 64, slotSize: 128, headroom: 16 });
  const { cr, bell } = await lossless(
    t,
    ring,
    2500,
    { burst: { frames: 16, sleepMinMs: 1, sleepMaxMs: 3 } },
    { pollMax: 64, pause: null, parkTimeoutMs: 1000, timerMs: 1 },
  );
  t.log(`parks ${cr.parks}, wakeups ${bell.wakeups}`);
  t.true(cr.parks > 100, `the consumer really parked (${cr.parks} times)`);
  t.true(bell.wakeups > 100, `producers rang it awake (${bell.wakeups} times)`);
  t.is(cr.timedOutParks, 0, 'no park waited its whole timeout while frames were coming');
  t.is(cr.ticks, 0, 'park blocks the thread: its timers do not run');
});

test.serial('control: without a doorbell the consumer only wakes on its timeout (the timed-out count is live)', async (t) => {
  const ring = createRing({ slots: 64, slotSize: 128, headroom: 16 });
  const bell = new Doorbell();
  const [, cr] = (await startWorkers(t, [
    producer(ring, { n: 200, bell: null, burst: { frames: 8, sleepMinMs: 2, sleepMaxMs: 4 } }),
    consumer(ring, { n: 200, bell: bell.sab, pause: null, parkTimeoutMs: 5 }),
  ])) as [ProducerResult, ConsumerResult];
  t.is(cr.received, 200);
  t.is(cr.badFrames, 0);
  t.is(bell.wakeups, 0);
  t.true(cr.timedOutParks > 0, `timed-out parks: ${cr.timedOutParks}`);
});

test.serial('waking with parkAsync: no lost wake-up, and a timer on the consumer thread fires while it is parked', async (t) => {
  const ring = createRing({ slots: 64, slotSize: 128, headroom: 16 });
  const { cr, bell } = await lossless(
    t,
    ring,
    2500,
    { burst: { frames: 16, sleepMinMs: 1, sleepMaxMs: 3 } },
    { pollMax: 64, pause: null, wake: 'parkAsync', parkTimeoutMs: 1000, timerMs: 1 },
  );
  t.log(`parks ${cr.parks}, wakeups ${bell.wakeups}, timer ticks while parked ${cr.ticksWhileParked}`);
  t.true(cr.parks > 100, `parks: ${cr.parks}`);
  t.true(bell.wakeups > 100, `wakeups: ${bell.wakeups}`);
  t.is(cr.timedOutParks, 0);
  t.true(cr.ticksWhileParked > 10, `timer ticks while parked: ${cr.ticksWhileParked}`);
});

// On Node 20 a pending Atomics.waitAsync does not keep the event loop alive (nodejs/node#61941):
// without the timer `parkAsync` holds, a thread whose only pending work is the park would exit
// in the middle of it and the producer would ring a thread that is gone.
test.serial('parkAsync keeps its thread alive while it waits, even with nothing else pending', async (t) => {
  const bell = new Doorbell();
  const done = startWorkers(t, [{ role: 'park-alone', bell: bell.sab, timeoutMs: 5000 }]);
  // Ring only once the worker has announced its park (its start-up may take long on a loaded
  // machine, and a ring before the announcement is, by the protocol, not a wake-up).
  for (let i = 0; i < 500 && !bell.sleeping; i++) await sleep(10);
  t.true(bell.sleeping, 'the worker parked');
  await sleep(200);
  bell.ring();
  const [r] = (await done) as [{ parkedMs: number }];
  // Woken by the ring (well before the 5000 ms timeout), after a real park: the thread was still
  // there 200 ms later, with nothing but the pending wait to keep it alive.
  t.true(r.parkedMs >= 190 && r.parkedMs < 4900, `parked ${r.parkedMs.toFixed(0)} ms, woken by the ring`);
});

test.serial('closeRing releases a producer waiting for room, and the frame counts as DropClosed', async (t) => {
  const ring = createRing({ slots: 4, slotSize: 64, headroom: 0 });
  const done = startWorkers(t, [{ role: 'wait-close-producer', ring, maxWaitMs: 20_000 }]);
  for (let i = 0; i < 500 && ringStats(ring).Waits === 0; i++) await sleep(10);
  t.is(ringStats(ring).Waits, 1, 'the producer is waiting');
  await sleep(50);
  closeRing(ring);
  const [r] = (await done) as [WaitCloseResult];
  t.false(r.pushed);
  t.true(r.elapsedMs < 10_000, `released by the close, not by maxWaitMs (${r.elapsedMs.toFixed(0)} ms)`);
  const st = ringStats(ring);
  t.is(st.Pushed, 4);
  t.is(st.DropClosed, 1, 'dropped because the ring closed');
  t.is(st.DropFull, 0);
});

function zcConfigs(n: number): [ZcOwnerConfig, ZcPeerConfig] {
  const pool = createFramePool(64, 256);
  const tx = createIndexRing(64);
  const comp = createIndexRing(64);
  const bellOwner = new Doorbell().sab;
  const bellPeer = new Doorbell().sab;
  const common = { pool, tx, comp, bellOwner, bellPeer, n, maxOff: 32 };
  return [
    { role: 'zc-owner', ...common, seed: SEED + 7, batchMax: 16, pause: BUSY },
    { role: 'zc-peer', ...common, seed: SEED + 8, pollMax: 16, pause: BUSY },
  ];
}

test.serial('zero copy: owner writes pool frames, peer checks them in place and returns them; every frame comes home', async (t) => {
  const n = 500_000;
  const [oc, pc] = zcConfigs(n);
  const [or, pr] = (await startWorkers(t, [oc, pc])) as [PoolOwnerResult, PoolPeerResult];
  t.deepEqual(pr.errors, []);
  t.deepEqual(or.errors, []);
  t.is(pr.handled, n);
  t.is(pr.badFrames, 0);
  t.is(pr.notInPlace, 0, 'the peer read every frame through a view on the pool');
  t.is(or.stampErrors, 0, "the peer's in-place writes are in the owner's frames: same memory, no copy");
  t.is(or.available, or.count, 'every frame is back in the pool');
  t.is(or.ringDrops + pr.ringDrops, 0);
  t.true(or.framesUsed > 1 && n / or.framesUsed > 1000, `frames reused (${or.framesUsed} frames for ${n})`);
  const tx = indexRingStats(oc.tx);
  const comp = indexRingStats(oc.comp);
  t.deepEqual([tx.pushed, tx.consumed, tx.dropFull, tx.inFlight], [n, n, 0, 0]);
  t.deepEqual([comp.pushed, comp.consumed, comp.dropFull, comp.inFlight], [n, n, 0, 0]);
  t.log(`frames used ${or.framesUsed}, alloc found the pool empty ${or.exhausted} times`);
});

test.serial('zero copy with a fill ring: owner lends empty frames, peer fills them in place and sends them back on rx', async (t) => {
  const n = 300_000;
  const pool = createFramePool(64, 256);
  const rings = { fill: createIndexRing(64), rx: createIndexRing(64), comp: createIndexRing(64) };
  const bells = { bellOwner: new Doorbell().sab, bellPeer: new Doorbell().sab };
  const common = { pool, ...rings, ...bells, n, maxOff: 32 };
  const oc: FillOwnerConfig = { role: 'fill-owner', ...common, seed: SEED + 9, pollMax: 16, pause: BUSY };
  const pc: FillPeerConfig = { role: 'fill-peer', ...common, seed: SEED + 10, batchMax: 16, pause: BUSY };
  const [or, pr] = (await startWorkers(t, [oc, pc])) as [PoolOwnerResult, PoolPeerResult];
  t.deepEqual(pr.errors, []);
  t.deepEqual(or.errors, []);
  t.is(or.received, n);
  t.is(or.badFrames, 0, 'the owner found the bytes the peer wrote in its own frames');
  t.is(pr.badFrames, 0, 'every lent frame came as (index, whole frame)');
  t.is(pr.ringDrops, 0);
  t.is(or.available, or.count, 'every frame is back in the pool, lent ones included');
  const fill = indexRingStats(rings.fill);
  const rx = indexRingStats(rings.rx);
  const comp = indexRingStats(rings.comp);
  t.is(fill.dropFull, 0);
  t.is(fill.pushed, fill.consumed, 'the peer took every lent frame');
  t.deepEqual([rx.pushed, rx.consumed], [n, n]);
  t.is(fill.pushed, n + comp.pushed, 'each lent frame came back once, on rx or on the completion ring');
  t.is(comp.pushed, pr.returned);
  t.log(`lent ${fill.pushed}, returned unused ${pr.returned}, frames used ${or.framesUsed}`);
});

test.serial('no Worker is left running (the check is shown to see a live one first)', async (t) => {
  // Node 20 lists no 'Worker' in getActiveResourcesInfo(); a live worker with a message
  // listener shows as a 'MessagePort', and an exited one has threadId -1.
  const probe = new Worker('require("node:worker_threads").parentPort.postMessage(1); setTimeout(() => {}, 30_000);', { eval: true });
  t.teardown(() => probe.terminate());
  await new Promise((resolve) => probe.on('message', resolve));
  t.true(countOf('MessagePort') > baselinePorts, 'a live worker is visible');
  t.not(probe.threadId, -1);
  await probe.terminate();
  t.is(probe.threadId, -1);

  t.log(`${spawned.length} workers started by this file`);
  t.deepEqual(spawned.filter((w) => w.threadId !== -1).map((w) => w.threadId), [], 'every worker exited');
  t.is(countOf('MessagePort'), baselinePorts);
  t.false(process.getActiveResourcesInfo().includes('Worker'));
});
