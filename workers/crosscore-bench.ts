/**
 * Worker entry of the cross-core benchmark (`pktkit bench`): runs the role named in workerData
 * (bench/crosscore-roles.ts). Owns no logic.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runRole, type RoleData } from '../bench/crosscore-roles.js';

if (parentPort === null) throw new Error('workers/crosscore-bench.js runs as a worker thread');
await runRole(workerData as RoleData, parentPort);
