/**
 * A dataplane port worker's entry (a plain worker_threads Worker started by `Dataplane`): the
 * run loop and everything else live in src/dataplane/worker-runtime.ts.
 */
import { startPortWorker } from '../src/dataplane/worker-runtime.js';

await startPortWorker();
