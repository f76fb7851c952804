/**
 * `dp.tasks`: a piscina pool for stateless, bursty CPU jobs with a result (src/dataplane/tasks.ts).
 * Created on first use; destroyed by `Dataplane.close()`. Port engines never live here: the pool
 * is for work that has a beginning and an end, the port workers for work that runs forever.
 */

import type { Piscina } from 'piscina';
import { ClosedError, PktTypeError } from '../errors.js';
import { TASK_NAMES, isTaskName, type TaskMap, type TaskName } from './tasks.js';

/** The pool's worker entry, found relative to this module (works from build/ and dist/). */
const TASK_WORKER_URL = new URL('../../workers/task-worker.js', import.meta.url);
/** An idle pool thread exits after this long. */
const IDLE_TIMEOUT_MS = 10_000;

export class TaskPool {
  /** The pool, from the first `run` on (piscina itself is imported then, not before). */
  private pool: Promise<Piscina> | null = null;
  /** The same pool once it exists (for `threads`). */
  private started: Piscina | null = null;
  private closed = false;
  private readonly maxThreads: number;

  constructor(maxThreads: number) {
    this.maxThreads = maxThreads;
  }

  /**
   * Runs task `name` in the pool and resolves with its result. Put a SharedArrayBuffer the task
   * needs inside `payload`; there is no transferList.
   * @throws {PktTypeError} for an unknown task; {ClosedError} once the dataplane is closed.
   */
  run<K extends TaskName>(name: K, payload?: TaskMap[K]['payload']): Promise<TaskMap[K]['result']> {
    if (this.closed) return Promise.reject(new ClosedError('Dataplane task pool'));
    if (!isTaskName(name)) {
      return Promise.reject(new PktTypeError(`dataplane tasks: unknown task ${JSON.stringify(name)} (expected ${TASK_NAMES.join(', ')})`));
    }
    this.pool ??= import('piscina').then(({ Piscina }) => {
      this.started = new Piscina({ filename: TASK_WORKER_URL.href, minThreads: 0, maxThreads: this.maxThreads, idleTimeout: IDLE_TIMEOUT_MS });
      return this.started;
    });
    return this.pool.then((pool) => pool.run({ name, payload }) as Promise<TaskMap[K]['result']>);
  }

  /** Threads the pool runs now (0 before first use and after close). */
  get threads(): number {
    return this.started?.threads.length ?? 0;
  }

  /** Ends every pool thread. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    this.started = null;
    if (pool !== null) await (await pool).destroy();
  }
}
