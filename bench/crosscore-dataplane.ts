/**
 * The chain measurement (c) on the dataplane (src/dataplane): one fresh `Dataplane` per round,
 * with `threads` port workers and bench/engines.ts as its plugin module.
 *
 *   worker 0                          worker W-1
 *   generator -> stage 1 -> … ==ring==> … -> stage K -> sink
 *
 * 'sharded' rows build `threads` whole chains instead, one per worker with direct links, each on
 * its own flow; their sinks' rates add up (a frame never leaves the core that made it).
 *
 * Engines on one worker are linked directly, neighbours on two workers through a ring pair:
 * byte rings ('wait' policy, the ring geometry of the other measurements), or, for the rows whose
 * `links` is 'zero-copy', zero-copy links (`{ zeroCopy: true }`): the generator then writes each
 * packet into a frame of its worker's pool, and the frame itself crosses to the next worker, with
 * no copy into a ring (the pools hold as many frames as a byte ring has slots, `--slots`, so both
 * kinds of link let as many packets be in flight). The generator bursts once per
 * run-loop round (`start`, through `ctx.defer`); the sink's `mark` command returns its frame
 * count with its own thread's clock, so the measured window is timed inside the sink's worker,
 * between two marks, while the main thread measures the process's CPU time around them.
 */

import { Dataplane } from '../src/dataplane/index.js';
import type { EngineRef } from '../src/dataplane/types.js';
import { chainLayout, machineBusyMs, otherCores, type CrossCoreOptions, type Measurement, type RoundResult } from './crosscore.js';

const ENGINES = new URL('./engines.js', import.meta.url);

interface Mark {
  frames: number;
  gaps: number;
  t: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface StageStats {
  badHeader?: number;
  badTransport?: number;
  expired?: number;
}

/** Runs one round of chain measurement `m` on a fresh dataplane. */
export async function runChainRoundOnDataplane(m: Measurement, o: CrossCoreOptions): Promise<RoundResult> {
  const k = m.stages ?? 2;
  const w = m.threads;
  const zeroCopy = m.links === 'zero-copy';
  const dp = new Dataplane({ workers: w, modules: [ENGINES], spinUs: o.spinUs, taskThreads: 1, ...(zeroCopy ? { pool: { frames: o.slots, frameSize: 2048 } } : {}) });
  let failure: Error | null = null;
  dp.on('error', (e) => {
    failure ??= e.error;
  });
  try {
    await dp.ready();
    // One chain, split over the workers; or, sharded, a whole chain on every worker.
    const chains: EngineRef[][] = [];
    for (let c = 0; c < (m.links === 'sharded' ? w : 1); c++) {
      const layout = m.links === 'sharded' ? new Array<number>(k).fill(c) : chainLayout(k, w);
      const last = m.links === 'sharded' ? c : w - 1;
      // Pool frames only where a zero-copy link can pass them on (engines.ts says why).
      const chain: EngineRef[] = [await dp.create({ kind: 'bench-generator', options: { size: m.size, pool: zeroCopy } }, { worker: layout[0]! })];
      for (let i = 0; i < k; i++) chain.push(await dp.create({ kind: 'bench-stage' }, { worker: layout[i]! }));
      chain.push(await dp.create({ kind: 'bench-sink' }, { worker: last }));
      // In chain order: each stage's first link is its upstream (engines.ts).
      const link = zeroCopy ? ({ zeroCopy: true } as const) : ({ policy: 'wait', slots: o.slots, slotSize: 2048, headroom: 64, maxWaitMs: 1000 } as const);
      for (let i = 0; i + 1 < chain.length; i++) await dp.link(chain[i]!, chain[i + 1]!, link);
      chains.push(chain);
    }
    const gens = chains.map((c) => c[0]!);
    const sinks = chains.map((c) => c[c.length - 1]!);

    // Links run in chain order, so each ring link's a-to-b direction carries the traffic.
    const counters = async (): Promise<{ wakeups: number; waits: number }> => {
      const st = await dp.stats();
      return {
        wakeups: st.links.reduce((s, l) => s + (l.aToB?.consumerWakeups ?? 0), 0),
        waits: st.links.reduce((s, l) => s + (l.aToB?.waits ?? 0), 0),
      };
    };
    for (const gen of gens) await dp.command(gen, 'start', { batch: m.batch });
    await sleep(o.warmupMs);
    const w0 = await counters();
    const m0 = machineBusyMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const as = (await Promise.all(sinks.map((s) => dp.command(s, 'mark')))) as Mark[];
    await sleep(o.durationMs);
    const bs = (await Promise.all(sinks.map((s) => dp.command(s, 'mark')))) as Mark[];
    const cpu = process.cpuUsage(c0);
    const t1 = performance.now();
    const m1 = machineBusyMs();
    const w1 = await counters();
    for (const gen of gens) await dp.command(gen, 'stop');
    if (failure !== null) throw failure;

    // Each sink timed its window with its own clock: add up the rates.
    let framesPerSec = 0;
    let frames = 0;
    let errors = 0;
    for (let i = 0; i < sinks.length; i++) {
      const n = bs[i]!.frames - as[i]!.frames;
      const ms = bs[i]!.t - as[i]!.t;
      if (!(n > 0 && ms > 0)) throw new Error(`pktkit bench: ${m.label}: no frames in the measured window`);
      framesPerSec += n / (ms / 1000);
      frames += n;
      errors += bs[i]!.gaps;
    }
    for (const wk of (await dp.stats()).workers) {
      for (const e of wk.engines) {
        if (e.kind !== 'bench-stage') continue;
        const s = e.stats as StageStats;
        errors += (s.badHeader ?? 0) + (s.badTransport ?? 0) + (s.expired ?? 0);
      }
    }
    if (frames <= 0) throw new Error(`pktkit bench: ${m.label}: no frames in the measured window`);
    const coresBusy = ((cpu.user + cpu.system) * 1000) / ((t1 - t0) * 1e6);
    return {
      framesPerSec,
      cpuNsPerFrame: (coresBusy * 1e9) / framesPerSec,
      coresBusy,
      errors,
      wakeupsPerSec: (w1.wakeups - w0.wakeups) / ((t1 - t0) / 1000),
      fullWaitsPerSec: (w1.waits - w0.waits) / ((t1 - t0) / 1000),
      otherCores: otherCores(m0, m1, t1 - t0, coresBusy),
    };
  } finally {
    await dp.close();
  }
}
