/**
 * A stand-in for a native I/O device (a TUN or AF_XDP reader) in test/dataplane/external-port:
 * a plain worker thread, not a port worker, that opens an external port and speaks the ring
 * protocol: announces its MAC, sends `count` numbered test frames to `dst`, receives until it
 * has seen `expect` frames, parks on its doorbell when idle, and reports.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openExternalPort, type ExternalPortEnd } from '../../src/dataplane/external-port.js';
import { be32, setBe16, setBe32, writeMac } from '../../src/wire/bytes.js';
import { TEST_ETHERTYPE } from '../helpers/dp-engines.js';

const { end, mac, dst, count, expect } = workerData as { end: ExternalPortEnd; mac: number; dst: number; count: number; expect: number };
const port = openExternalPort(end, { policy: 'wait', maxWaitMs: 1000 });
const STREAM = 0x0e;
const frame = new Uint8Array(64);
writeMac(frame, 6, mac);
setBe16(frame, 12, TEST_ETHERTYPE);

// Hello: a broadcast, so that the hub learns where this MAC lives.
writeMac(frame, 0, 0xffff_ffff_ffff);
setBe32(frame, 14, 0xffff);
port.producer.send(frame);
writeMac(frame, 0, dst);
setBe32(frame, 14, STREAM);
for (let seq = 0; seq < count; seq++) {
  setBe32(frame, 18, seq);
  if (!port.producer.push(frame)) throw new Error(`external port: frame ${seq} dropped`);
  if ((seq & 31) === 31) port.producer.publish();
}
port.producer.publish();

let received = 0;
let outOfOrder = 0;
let next = 0;
let parks = 0;
const onFrame = (f: Uint8Array): void => {
  if (f.length < 22 || be32(f, 14) === 0xffff) return; // not a test frame, or a hello
  received++;
  if (be32(f, 18) !== next) outOfOrder++;
  next = be32(f, 18) + 1;
};
const deadline = performance.now() + 10_000;
while (received < expect && performance.now() < deadline) {
  if (port.consumer.poll(onFrame) > 0) continue;
  const seq = port.doorbell.prepare();
  if (port.consumer.available() > 0) {
    port.doorbell.cancel();
    continue;
  }
  parks++;
  await port.doorbell.parkAsync(seq, 100);
}
port.consumer.flush();
parentPort!.postMessage({ sent: count, received, outOfOrder, parks, closed: port.consumer.closed });
