/**
 * Worker entry for isolated benchmark rows (see harness.ts): imports the suite module, builds
 * its rows, measures the one named in workerData and posts the result. Owns no logic.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { measureRow, type Row } from './harness.js';

const { moduleUrl, exportName, rowName, timeMs, checkAlloc } = workerData as {
  moduleUrl: string;
  exportName: string;
  rowName: string;
  timeMs: number;
  checkAlloc: boolean;
};
const mod = (await import(moduleUrl)) as Record<string, () => Row[]>;
const row = mod[exportName]!().find((r) => r.name === rowName);
if (row === undefined) throw new Error(`bench: no row ${rowName} in ${exportName}`);
parentPort!.postMessage(await measureRow(row, timeMs, checkAlloc));
