/**
 * The task pool's worker entry (piscina `filename`): runs one named task from
 * src/dataplane/tasks.ts per call. No logic of its own.
 */
import { runTask } from '../src/dataplane/tasks.js';

export default function task({ name, payload }: { name: string; payload: unknown }): unknown {
  return runTask(name, payload);
}
