/**
 * Dataplane test helpers: a dataplane that closes in `t.teardown` whatever happens, with the
 * test engines (dp-engines.ts) loaded, and the leak check that runs after close.
 *
 * What Node 20 shows of a worker: `process.getActiveResourcesInfo()` lists a running Worker as a
 * 'MessagePort' (its parent-side port, while it is ref'd and has listeners) and nothing once it
 * has exited; the thread itself is not listed at all. So the check compares both the resource
 * list and the process's OS threads (/proc/self/task on Linux: one per worker) with a snapshot
 * taken before the dataplane started.
 */

import { readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ExecutionContext } from 'ava';
import { Dataplane, type DataplaneOptions } from '../../src/dataplane/index.js';

export const ENGINES_URL = new URL('./dp-engines.js', import.meta.url).href;

export interface ResourceSnapshot {
  resources: Map<string, number>;
  threads: number;
}

function threadCount(): number {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return -1;
  }
}

function countResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Takes the before-snapshot (after starting libuv's thread pool, which stays). */
export async function snapshot(): Promise<ResourceSnapshot> {
  await stat('.');
  return { resources: countResources(), threads: threadCount() };
}

/**
 * Asserts that nothing is left of a dataplane: no more MessagePorts or other handles (timers
 * aside: AVA's own come and go) than before, and no extra OS thread (waits up to 1 s for threads
 * that are being joined).
 */
export async function assertNoLeak(t: ExecutionContext, before: ResourceSnapshot): Promise<void> {
  const deadline = performance.now() + 1000;
  while (threadCount() > before.threads && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const after = countResources();
  const extra: string[] = [];
  for (const [name, n] of after) {
    if (name === 'Timeout' || name === 'Immediate') continue;
    const was = before.resources.get(name) ?? 0;
    if (n > was) extra.push(`${name} x${n - was}`);
  }
  t.deepEqual(extra, [], `handles left open: ${process.getActiveResourcesInfo().join(', ')}`);
  if (before.threads >= 0) t.is(threadCount(), before.threads, 'OS threads left running');
}

/** A dataplane with the test engines, closed at teardown even when the test fails. */
export function startDataplane(t: ExecutionContext, opts: DataplaneOptions = {}): Dataplane {
  const dp = new Dataplane({ workers: 2, ...opts, modules: [ENGINES_URL, ...(opts.modules ?? [])] });
  // Tests that expect a worker to die listen themselves; others fail on it.
  t.teardown(() => dp.close());
  return dp;
}

/** Polls `fn` until it returns true or `ms` pass. */
export async function until(fn: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return fn();
}
