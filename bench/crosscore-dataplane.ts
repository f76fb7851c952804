/**
 * The chain measurement (c) on the dataplane (src/dataplane): one fresh `Dataplane` per round,
 * with `threads` port workers and bench/engines.ts as its plugin module.
 *
 *   worker 0                          worker W-1
 *   generator -> stage 1 -> … ==ring==> … -> stage K -> sink
 *
 * Engines on one worker are linked directly, neighbours on two workers through a ring pair
 * ('wait' policy, the ring geometry of the other measurements). The generator bursts once per
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
  const dp = new Dataplane({ workers: w, modules: [ENGINES], spinUs: o.spinUs, taskThreads: 1 });
  let failure: Error | null = null;
  dp.on('error', (e) => {
    failure ??= e.error;
  });
  try {
    await dp.ready();
    const layout = chainLayout(k, w);
    const chain: EngineRef[] = [await dp.create({ kind: 'bench-generator', options: { size: m.size } }, { worker: 0 })];
    for (let i = 0; i < k; i++) chain.push(await dp.create({ kind: 'bench-stage' }, { worker: layout[i]! }));
    chain.push(await dp.create({ kind: 'bench-sink' }, { worker: w - 1 }));
    // In chain order: each stage's first link is its upstream (engines.ts).
    const link = { policy: 'wait', slots: o.slots, slotSize: 2048, headroom: 64, maxWaitMs: 1000 } as const;
    for (let i = 0; i + 1 < chain.length; i++) await dp.link(chain[i]!, chain[i + 1]!, link);
    const gen = chain[0]!;
    const sink = chain[chain.length - 1]!;

    // Links run in chain order, so each ring link's a-to-b direction carries the traffic.
    const counters = async (): Promise<{ wakeups: number; waits: number }> => {
      const st = await dp.stats();
      return {
        wakeups: st.links.reduce((s, l) => s + (l.aToB?.consumerWakeups ?? 0), 0),
        waits: st.links.reduce((s, l) => s + (l.aToB?.waits ?? 0), 0),
      };
    };
    await dp.command(gen, 'start', { batch: m.batch });
    await sleep(o.warmupMs);
    const w0 = await counters();
    const m0 = machineBusyMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const a = (await dp.command(sink, 'mark')) as Mark;
    await sleep(o.durationMs);
    const b = (await dp.command(sink, 'mark')) as Mark;
    const cpu = process.cpuUsage(c0);
    const t1 = performance.now();
    const m1 = machineBusyMs();
    const w1 = await counters();
    await dp.command(gen, 'stop');
    if (failure !== null) throw failure;

    let errors = b.gaps;
    for (const wk of (await dp.stats()).workers) {
      for (const e of wk.engines) {
        if (e.kind !== 'bench-stage') continue;
        const s = e.stats as StageStats;
        errors += (s.badHeader ?? 0) + (s.badTransport ?? 0) + (s.expired ?? 0);
      }
    }
    const frames = b.frames - a.frames;
    const ms = b.t - a.t;
    if (!(frames > 0 && ms > 0)) throw new Error(`pktkit bench: ${m.label}: no frames in the measured window`);
    const framesPerSec = frames / (ms / 1000);
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
