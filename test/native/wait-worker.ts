/** For test/native/wait.test.ts: parks in the addon's poll(2) behind a doorbell, reports how long. */
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell } from '../../rings/index.js';
import { requireNative } from '../../src/native/index.js';

const n = requireNative('wait-worker');
const bell = new Doorbell(workerData.bell as SharedArrayBuffer);
const kick = n.eventfdCreate();
bell.setKickFd(kick);
const ready = new Int32Array(0);
bell.prepare();
parentPort!.postMessage('parked');
const t0 = performance.now();
const woke = n.waitFds(new Int32Array(0), kick, 5000, ready);
bell.cancel();
parentPort!.postMessage({ ms: performance.now() - t0, woke });
n.fdClose(kick);
