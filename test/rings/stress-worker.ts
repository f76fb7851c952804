/**
 * Worker entry for test/rings/stress.test.ts: one role per thread, chosen by `workerData.role`.
 * Each role runs to completion, posts one result message and exits; it never throws for a bad
 * frame (it counts it and keeps the first few descriptions), so the test sees every count.
 *
 *   spsc-producer / spsc-consumer   the two ends of a SpscRing, with random batches and pauses
 *   wait-close-producer             a 'wait' producer stuck on a full ring, until it is closed
 *   zc-owner / zc-peer              zero copy: pool owner -> tx IndexRing -> peer -> completion ring
 *   fill-owner / fill-peer          owner lends frames on a fill ring, peer fills them, rx ring back
 *
 * Pauses are real: busy waits (the other thread keeps running) and sleeps (Atomics.wait on a
 * private buffer, so nobody can wake them early).
 */

import { parentPort, workerData } from 'node:worker_threads';
import {
  Doorbell,
  FramePoolOwner,
  FramePoolView,
  IndexConsumer,
  IndexProducer,
  RingConsumer,
  RingProducer,
  closeIndexRing,
  descLen,
  descOff,
  packDesc,
  type FramePoolDescriptor,
  type IndexRingDescriptor,
  type RingDescriptor,
  type RingPolicy,
} from '../../rings/index.js';
import { Rng, checkFrame, fillFrame, frameLen, frameSeq, setBit } from '../helpers/ring-frames.js';

/** Random pauses after a batch: a busy wait of up to `spinMaxUs` one time in `spinEvery`, a sleep of up to `sleepMaxMs` one time in `sleepEvery` (0: never). */
export interface PauseConfig {
  spinEvery: number;
  spinMaxUs: number;
  sleepEvery: number;
  sleepMaxMs: number;
}

export interface SpscProducerConfig {
  role: 'spsc-producer';
  ring: RingDescriptor;
  policy: RingPolicy;
  maxWaitMs: number;
  /** The consumer's doorbell, or null (the consumer then wakes only on its park timeout). */
  bell: SharedArrayBuffer | null;
  n: number;
  seed: number;
  minLen: number;
  maxLen: number;
  /** Publish every k frames, k random in [1, batchMax]. */
  batchMax: number;
  pause: PauseConfig | null;
  /** Build one frame in `reserveEvery` in place with reserve/commit, at a random offset in [0, headroom] (0: never). */
  reserveEvery: number;
  /** Send in bursts of up to `frames` frames, sleeping between bursts (waking tests). */
  burst: { frames: number; sleepMinMs: number; sleepMaxMs: number } | null;
  /** Bit `seq` set when frame `seq` was dropped. */
  dropMap: SharedArrayBuffer | null;
  closeAtEnd: boolean;
}

export interface SpscConsumerConfig {
  role: 'spsc-consumer';
  ring: RingDescriptor;
  /** The consumer's doorbell: it parks on it (the producer may or may not ring it). */
  bell: SharedArrayBuffer;
  /** Frames to receive; -1: until the ring is closed and drained. */
  n: number;
  seed: number;
  minLen: number;
  maxLen: number;
  /** Poll with max random in [1, pollMax]. */
  pollMax: number;
  pause: PauseConfig | null;
  /** Read each frame, busy-wait up to this many microseconds, read it again (0: read once). */
  recheckMaxUs: number;
  /** Frames carry their seq (drop policy: some are missing); otherwise they come as 0, 1, 2, … */
  seqInFrame: boolean;
  /** With `seqInFrame`: every seq sent is below this. */
  seqLimit: number;
  /** Bit `seq` set when frame `seq` was received. */
  recvMap: SharedArrayBuffer | null;
  /** The doorbell protocol with a blocking or an event-loop-friendly park. */
  wake: 'park' | 'parkAsync';
  parkTimeoutMs: number;
  /** A setInterval of this period runs on the consumer's thread (0: none). */
  timerMs: number;
  /** Control for the overwrite detector: release each slot before reading it (a broken consumer). */
  earlyRelease: boolean;
}

export interface WaitCloseProducerConfig {
  role: 'wait-close-producer';
  ring: RingDescriptor;
  maxWaitMs: number;
}

/** Parks once with parkAsync and nothing else to keep the thread alive, then reports. */
export interface ParkAloneConfig {
  role: 'park-alone';
  bell: SharedArrayBuffer;
  timeoutMs: number;
}

export interface ZcOwnerConfig {
  role: 'zc-owner';
  pool: FramePoolDescriptor;
  tx: IndexRingDescriptor;
  comp: IndexRingDescriptor;
  bellOwner: SharedArrayBuffer;
  bellPeer: SharedArrayBuffer;
  n: number;
  seed: number;
  batchMax: number;
  /** Frames start at a random offset in [0, maxOff] in their pool frame. */
  maxOff: number;
  pause: PauseConfig | null;
}

export interface ZcPeerConfig {
  role: 'zc-peer';
  pool: FramePoolDescriptor;
  tx: IndexRingDescriptor;
  comp: IndexRingDescriptor;
  bellOwner: SharedArrayBuffer;
  bellPeer: SharedArrayBuffer;
  n: number;
  seed: number;
  pollMax: number;
  maxOff: number;
  pause: PauseConfig | null;
}

export interface FillOwnerConfig {
  role: 'fill-owner';
  pool: FramePoolDescriptor;
  fill: IndexRingDescriptor;
  rx: IndexRingDescriptor;
  comp: IndexRingDescriptor;
  bellOwner: SharedArrayBuffer;
  bellPeer: SharedArrayBuffer;
  n: number;
  seed: number;
  pollMax: number;
  maxOff: number;
  pause: PauseConfig | null;
}

export interface FillPeerConfig {
  role: 'fill-peer';
  pool: FramePoolDescriptor;
  fill: IndexRingDescriptor;
  rx: IndexRingDescriptor;
  comp: IndexRingDescriptor;
  bellOwner: SharedArrayBuffer;
  bellPeer: SharedArrayBuffer;
  n: number;
  seed: number;
  batchMax: number;
  maxOff: number;
  pause: PauseConfig | null;
}

export type WorkerConfig =
  | SpscProducerConfig
  | SpscConsumerConfig
  | WaitCloseProducerConfig
  | ParkAloneConfig
  | ZcOwnerConfig
  | ZcPeerConfig
  | FillOwnerConfig
  | FillPeerConfig;

export interface ProducerResult {
  sent: number;
  dropped: number;
  reserved: number;
}

export interface ConsumerResult {
  received: number;
  /** Frames with a wrong length or wrong bytes on the first read, or out of order. */
  badFrames: number;
  /** Frames whose bytes changed between the first and the second read. */
  overwrites: number;
  parks: number;
  /** Parks that lasted the whole timeout (a lost wake-up when the producer was active). */
  timedOutParks: number;
  ticks: number;
  ticksWhileParked: number;
  errors: string[];
}

export interface WaitCloseResult {
  pushed: boolean;
  elapsedMs: number;
}

export interface PoolOwnerResult {
  received: number;
  badFrames: number;
  available: number;
  count: number;
  exhausted: number;
  /** Frames whose peer stamp was missing when they came back (zc) or wrong lend descriptors (fill). */
  stampErrors: number;
  ringDrops: number;
  /** Distinct pool frames used (reuse: far fewer than frames sent). */
  framesUsed: number;
  errors: string[];
}

export interface PoolPeerResult {
  handled: number;
  badFrames: number;
  notInPlace: number;
  ringDrops: number;
  returned: number;
  errors: string[];
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps on a private cell: nothing wakes it early. */
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}
function pause(rng: Rng, p: PauseConfig | null): void {
  if (p === null) return;
  if (rng.oneIn(p.sleepEvery)) sleepMs(0.05 + (rng.int(1000) / 1000) * p.sleepMaxMs);
  else if (rng.oneIn(p.spinEvery)) spinUs(1 + rng.int(p.spinMaxUs));
}
function note(errors: string[], msg: string): void {
  if (errors.length < 8) errors.push(msg);
}
function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}
function setLe32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}
/** What the zc peer writes at the end of a frame it has checked. */
function stampOf(seq: number): number {
  return (~seq ^ 0x5a5a_0000) >>> 0;
}

function spscProducer(c: SpscProducerConfig): ProducerResult {
  const rng = new Rng(c.seed);
  const p = new RingProducer(c.ring, {
    policy: c.policy,
    maxWaitMs: c.maxWaitMs,
    doorbell: c.bell === null ? null : new Doorbell(c.bell),
  });
  const dropMap = c.dropMap === null ? null : new Int32Array(c.dropMap);
  const scratch = new Uint8Array(c.maxLen + 1);
  const headroom = c.ring.headroom;
  let dropped = 0;
  let reserved = 0;
  let k = 1 + rng.int(c.batchMax);
  let burstLeft = c.burst === null ? -1 : 1 + rng.int(c.burst.frames);
  for (let seq = 0; seq < c.n; seq++) {
    const len = frameLen(seq, c.minLen, c.maxLen);
    let ok: boolean;
    if (rng.oneIn(c.reserveEvery)) {
      const slot = p.reserve();
      ok = slot >= 0;
      if (ok) {
        const off = rng.int(headroom + 1); // inside the headroom (off < headroom) or at it
        fillFrame(p.data, p.slotOffset(slot) + off, seq, len);
        p.commit(off, len);
        reserved++;
      }
    } else {
      const frame = scratch.subarray(0, len);
      fillFrame(frame, 0, seq, len);
      ok = p.push(frame);
    }
    if (!ok) {
      dropped++;
      if (dropMap !== null) setBit(dropMap, seq);
    }
    if (c.burst !== null) {
      if (--burstLeft === 0) {
        p.publish();
        sleepMs(c.burst.sleepMinMs + (rng.int(1000) / 1000) * (c.burst.sleepMaxMs - c.burst.sleepMinMs));
        burstLeft = 1 + rng.int(c.burst.frames);
      }
    } else if (--k === 0) {
      p.publish();
      pause(rng, c.pause);
      k = 1 + rng.int(c.batchMax);
    }
  }
  p.publish();
  if (c.closeAtEnd) p.close();
  return { sent: c.n, dropped, reserved };
}

async function spscConsumer(c: SpscConsumerConfig): Promise<ConsumerResult> {
  const rng = new Rng(c.seed);
  const cons = new RingConsumer(c.ring);
  const bell = new Doorbell(c.bell);
  const recvMap = c.recvMap === null ? null : new Int32Array(c.recvMap);
  const errors: string[] = [];
  // The broken consumer of the control test releases through the ring's TAIL cell directly
  // (Int32 index 16 of the control block, see the diagram in rings/spsc-ring.ts).
  const ctl = new Int32Array(c.ring.sab, 0, 64);
  const TAIL = 16;
  const base = Atomics.load(ctl, TAIL);
  let received = 0;
  let badFrames = 0;
  let overwrites = 0;
  let lastSeq = -1;
  let parks = 0;
  let timedOutParks = 0;
  let ticks = 0;
  let ticksWhileParked = 0;
  let parked = false;

  const handler = (f: Uint8Array): void => {
    let seq: number;
    if (c.seqInFrame) {
      seq = f.length >= 4 ? frameSeq(f) : -1;
      if (seq <= lastSeq || seq >= c.seqLimit) {
        badFrames++;
        note(errors, `frame #${received}: seq ${seq} after ${lastSeq}`);
      }
      lastSeq = seq;
      if (recvMap !== null && seq >= 0 && seq < c.seqLimit) setBit(recvMap, seq);
    } else {
      seq = received;
    }
    const len = frameLen(seq, c.minLen, c.maxLen);
    const first = checkFrame(f, seq, len);
    if (c.earlyRelease) {
      Atomics.store(ctl, TAIL, (base + received + 1) | 0);
      Atomics.notify(ctl, TAIL);
    }
    if (first !== -1) {
      badFrames++;
      note(errors, `frame seq ${seq}: ${first === -2 ? `length ${f.length}, want ${len}` : `byte ${first} wrong`}`);
    } else if (c.recheckMaxUs > 0) {
      spinUs(rng.int(c.recheckMaxUs + 1));
      const second = checkFrame(f, seq, len);
      if (second !== -1) {
        overwrites++;
        note(errors, `frame seq ${seq} changed while read (${second === -2 ? 'length' : `byte ${second}`})`);
      }
    }
    received++;
  };

  // With parkAsync this timer also keeps the thread alive while it parks: on Node 20 a pending
  // Atomics.waitAsync alone does not (see the 'failing' test in stress.test.ts).
  const tick = (): void => {
    ticks++;
    if (parked) ticksWhileParked++;
  };
  const timer = c.timerMs > 0 ? setInterval(tick, c.timerMs) : null;

  const done = (): boolean => c.n >= 0 && received >= c.n;
  while (!done()) {
    const max = 1 + rng.int(c.pollMax);
    if (cons.poll(handler, max) > 0) {
      pause(rng, c.pause);
      continue;
    }
    if (c.n < 0 && cons.closed) {
      // CLOSED was stored after the last publish: one more drain sees everything.
      while (cons.poll(handler) > 0);
      break;
    }
    let spun = 0;
    while (cons.available() === 0 && spun++ < 200);
    if (cons.available() > 0) continue;
    const s = bell.prepare();
    if (cons.available() > 0 || cons.closed) {
      bell.cancel();
      continue;
    }
    parks++;
    const t0 = performance.now();
    if (c.wake === 'park') {
      bell.park(s, c.parkTimeoutMs);
    } else {
      parked = true;
      await bell.parkAsync(s, c.parkTimeoutMs);
      parked = false;
    }
    if (performance.now() - t0 >= c.parkTimeoutMs - 0.5) timedOutParks++;
  }
  if (timer !== null) clearInterval(timer);
  cons.flush(); // a consumer that stops releases what it consumed (slots are released lazily)
  return { received, badFrames, overwrites, parks, timedOutParks, ticks, ticksWhileParked, errors };
}

function waitCloseProducer(c: WaitCloseProducerConfig): WaitCloseResult {
  const p = new RingProducer(c.ring, { policy: 'wait', maxWaitMs: c.maxWaitMs });
  const f = new Uint8Array(8);
  for (let i = 0; i < c.ring.slots; i++) if (!p.push(f)) throw new Error(`push ${i} into an empty ring failed`);
  const t0 = performance.now();
  const pushed = p.push(f); // the ring is full: waits until the ring is closed (or maxWaitMs)
  return { pushed, elapsedMs: performance.now() - t0 };
}

async function parkAlone(c: ParkAloneConfig): Promise<{ parkedMs: number }> {
  const bell = new Doorbell(c.bell);
  const t0 = performance.now();
  await bell.parkAsync(bell.prepare(), c.timeoutMs);
  return { parkedMs: performance.now() - t0 };
}

/** Parks on `bell` unless `ready()` already holds (the doorbell protocol), at most `ms`. */
function parkUnless(bell: Doorbell, ready: () => boolean, ms: number): void {
  const s = bell.prepare();
  if (ready()) bell.cancel();
  else bell.park(s, ms);
}

function zcOwner(c: ZcOwnerConfig): PoolOwnerResult {
  const rng = new Rng(c.seed);
  const pool = new FramePoolOwner(c.pool);
  const compC = new IndexConsumer(c.comp);
  pool.addCompletionRing(compC);
  const tx = new IndexProducer(c.tx, new Doorbell(c.bellPeer));
  const bell = new Doorbell(c.bellOwner);
  const errors: string[] = [];
  const lastSeq = new Int32Array(pool.count).fill(-1);
  const maxLen = pool.frameSize - 4 - c.maxOff;
  const stampAt = (i: number): number => pool.offsetOf(i) + pool.frameSize - 4;
  const compReady = (): boolean => compC.available() > 0;
  let stampErrors = 0;
  let ringDrops = 0;
  let k = 1 + rng.int(c.batchMax);
  for (let seq = 0; seq < c.n; seq++) {
    let i = pool.alloc();
    while (i < 0) {
      tx.publish();
      parkUnless(bell, compReady, 1000);
      i = pool.alloc();
    }
    const prev = lastSeq[i]!;
    if (prev >= 0 && le32(pool.bytes, stampAt(i)) !== stampOf(prev)) {
      stampErrors++;
      note(errors, `frame ${i} came back without the peer's stamp for seq ${prev}`);
    }
    const off = rng.int(c.maxOff + 1);
    const len = frameLen(seq, 1, maxLen);
    fillFrame(pool.bytes, pool.offsetOf(i) + off, seq, len);
    lastSeq[i] = seq;
    if (!tx.push(i, packDesc(off, len))) {
      ringDrops++;
      pool.release(i);
    }
    if (--k === 0) {
      tx.publish();
      pause(rng, c.pause);
      k = 1 + rng.int(c.batchMax);
    }
  }
  tx.publish();
  const deadline = performance.now() + 10_000;
  for (;;) {
    pool.reclaim();
    if (pool.available === pool.count || performance.now() > deadline) break;
    parkUnless(bell, compReady, 100);
  }
  let framesUsed = 0;
  for (let i = 0; i < pool.count; i++) {
    const prev = lastSeq[i]!;
    if (prev < 0) continue;
    framesUsed++;
    if (le32(pool.bytes, stampAt(i)) !== stampOf(prev)) {
      stampErrors++;
      note(errors, `frame ${i} is not stamped for seq ${prev} at the end`);
    }
  }
  return {
    received: 0,
    badFrames: 0,
    available: pool.available,
    count: pool.count,
    exhausted: pool.exhausted,
    stampErrors,
    ringDrops,
    framesUsed,
    errors,
  };
}

function zcPeer(c: ZcPeerConfig): PoolPeerResult {
  const rng = new Rng(c.seed);
  const view = new FramePoolView(c.pool);
  const txC = new IndexConsumer(c.tx);
  const comp = new IndexProducer(c.comp, new Doorbell(c.bellOwner));
  const bell = new Doorbell(c.bellPeer);
  const maxLen = view.frameSize - 4 - c.maxOff;
  const errors: string[] = [];
  let handled = 0;
  let badFrames = 0;
  let notInPlace = 0;
  let ringDrops = 0;
  const handler = (i: number, b: number): void => {
    const off = descOff(b);
    const len = descLen(b);
    const f = view.frame(i, off, len);
    // Read in place: a window on the pool's own memory at frame i, not a copy.
    if (f.buffer !== view.bytes.buffer || f.byteOffset !== view.offsetOf(i) + off) notInPlace++;
    const r = checkFrame(f, handled, frameLen(handled, 1, maxLen));
    if (r !== -1 || off > c.maxOff) {
      badFrames++;
      note(errors, `seq ${handled} in frame ${i} (off ${off}, len ${len}): ${r === -2 ? 'wrong length' : `byte ${r} wrong`}`);
    }
    setLe32(view.bytes, view.offsetOf(i) + view.frameSize - 4, stampOf(handled));
    if (!comp.push(i, 0)) ringDrops++;
    handled++;
  };
  const txReady = (): boolean => txC.available() > 0;
  while (handled < c.n) {
    if (txC.poll(handler, 1 + rng.int(c.pollMax)) > 0) {
      comp.publish();
      pause(rng, c.pause);
      continue;
    }
    parkUnless(bell, txReady, 1000);
  }
  comp.publish();
  return { handled, badFrames, notInPlace, ringDrops, returned: handled, errors };
}

function fillOwner(c: FillOwnerConfig): PoolOwnerResult {
  const rng = new Rng(c.seed);
  const pool = new FramePoolOwner(c.pool);
  const compC = new IndexConsumer(c.comp);
  pool.addCompletionRing(compC);
  const fill = new IndexProducer(c.fill, new Doorbell(c.bellPeer));
  const rxC = new IndexConsumer(c.rx);
  const bell = new Doorbell(c.bellOwner);
  const maxLen = pool.frameSize - c.maxOff;
  const used = new Uint8Array(pool.count);
  const errors: string[] = [];
  let received = 0;
  let badFrames = 0;
  const handler = (i: number, b: number): void => {
    const off = descOff(b);
    const f = pool.frame(i, off, descLen(b));
    const r = checkFrame(f, received, frameLen(received, 1, maxLen));
    if (r !== -1) {
      badFrames++;
      note(errors, `seq ${received} in frame ${i}: ${r === -2 ? `length ${f.length}` : `byte ${r} wrong`}`);
    }
    used[i] = 1;
    received++;
    pool.release(i);
  };
  const rxReady = (): boolean => rxC.available() > 0;
  pool.lend(fill, pool.available);
  while (received < c.n) {
    if (rxC.poll(handler, 1 + rng.int(c.pollMax)) > 0) {
      pool.lend(fill, pool.available);
      pause(rng, c.pause);
      continue;
    }
    parkUnless(bell, rxReady, 1000);
  }
  // Everything received: take the lent frames back. The peer returns what it holds on the
  // completion ring once it sees the fill ring closed (closing does not ring: wake it).
  closeIndexRing(c.fill);
  new Doorbell(c.bellPeer).wake();
  const compReady = (): boolean => compC.available() > 0;
  const deadline = performance.now() + 10_000;
  for (;;) {
    pool.reclaim();
    if (pool.available === pool.count || performance.now() > deadline) break;
    parkUnless(bell, compReady, 100);
  }
  let framesUsed = 0;
  for (let i = 0; i < pool.count; i++) framesUsed += used[i]!;
  return {
    received,
    badFrames,
    available: pool.available,
    count: pool.count,
    exhausted: pool.exhausted,
    stampErrors: 0,
    ringDrops: 0,
    framesUsed,
    errors,
  };
}

function fillPeer(c: FillPeerConfig): PoolPeerResult {
  const rng = new Rng(c.seed);
  const view = new FramePoolView(c.pool);
  const fillC = new IndexConsumer(c.fill);
  const rx = new IndexProducer(c.rx, new Doorbell(c.bellOwner));
  const comp = new IndexProducer(c.comp, new Doorbell(c.bellOwner));
  const bell = new Doorbell(c.bellPeer);
  const maxLen = view.frameSize - c.maxOff;
  const have = new Int32Array(view.count);
  const errors: string[] = [];
  let top = 0;
  let badFrames = 0;
  let ringDrops = 0;
  const take = (i: number, b: number): void => {
    // The owner lends the whole frame: offset 0, frameSize bytes of space.
    if (descOff(b) !== 0 || descLen(b) !== view.frameSize) {
      badFrames++;
      note(errors, `lent frame ${i} with descriptor ${b}`);
    }
    have[top++] = i;
  };
  const fillReady = (): boolean => fillC.available() > 0 || fillC.closed;
  let k = 1 + rng.int(c.batchMax);
  for (let seq = 0; seq < c.n; seq++) {
    while (top === 0) {
      if (fillC.poll(take) > 0) break;
      rx.publish();
      parkUnless(bell, fillReady, 1000);
    }
    const i = have[--top]!;
    const off = rng.int(c.maxOff + 1);
    const len = frameLen(seq, 1, maxLen);
    fillFrame(view.bytes, view.offsetOf(i) + off, seq, len); // written in place, in the owner's frame
    if (!rx.push(i, packDesc(off, len))) ringDrops++;
    if (--k === 0) {
      rx.publish();
      pause(rng, c.pause);
      k = 1 + rng.int(c.batchMax);
    }
  }
  rx.publish();
  for (;;) {
    const closed = fillC.closed;
    fillC.poll(take);
    if (closed) break;
    parkUnless(bell, fillReady, 100);
  }
  const returned = top;
  while (top > 0) if (!comp.push(have[--top]!, 0)) ringDrops++;
  comp.publish();
  return { handled: c.n, badFrames, notInPlace: 0, ringDrops, returned, errors };
}

async function main(): Promise<unknown> {
  const c = workerData as WorkerConfig;
  switch (c.role) {
    case 'spsc-producer':
      return spscProducer(c);
    case 'spsc-consumer':
      return spscConsumer(c);
    case 'wait-close-producer':
      return waitCloseProducer(c);
    case 'park-alone':
      return parkAlone(c);
    case 'zc-owner':
      return zcOwner(c);
    case 'zc-peer':
      return zcPeer(c);
    case 'fill-owner':
      return fillOwner(c);
    case 'fill-peer':
      return fillPeer(c);
  }
}

if (parentPort !== null) parentPort.postMessage(await main());
