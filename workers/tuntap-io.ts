/**
 * Worker entry of a TUN/TAP queue's I/O thread (started by pktkit/tuntap's `attachTun` and
 * `attachTap`). Thin: the loop is src/tuntap/io-thread.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runIoThread, type IoThreadData } from '../src/tuntap/io-thread.js';

runIoThread(workerData as IoThreadData, () => parentPort?.postMessage('running'));
