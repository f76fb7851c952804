/**
 * One side of the cross-worker vtcp throughput row (bench/vtcp-throughput.ts): a TcpStack on a
 * RingL3Device (a pair of SPSC rings in SharedArrayBuffers, the other worker's stack at the far
 * end), with a small run loop: drain the inbound ring into the stack, publish what it sent, yield
 * to the event loop (streams, timers), park on the doorbell when there is nothing to do.
 *
 * Roles: 'receiver' listens on port 5001 and reports the bytes it read and the time from the
 * first byte to the end; 'sender' dials it and writes `bytes` through the Conn, then ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell, type RingDescriptor } from '../rings/index.js';
import { RingL3Device, type PublishHook } from '../src/dataplane/ring-device.js';
import type { Conn } from '../src/vtcp/conn.js';
import { TcpStack } from '../src/vtcp/stack.js';

export interface VtcpWorkerData {
  role: 'sender' | 'receiver';
  out: RingDescriptor;
  in: RingDescriptor;
  bell: SharedArrayBuffer;
  peerBell: SharedArrayBuffer;
  bytes: number;
  mtu: number;
  chunk: number;
}

const d = workerData as VtcpWorkerData;
const bell = new Doorbell(d.bell);
let inRound = false;
let publishQueued = false;
const hook: PublishHook = {
  get inRound() {
    return inRound;
  },
  schedulePublish() {
    if (publishQueued) return;
    publishQueued = true;
    queueMicrotask(() => {
      publishQueued = false;
      dev.producer.publish();
    });
  },
};
const dev = new RingL3Device({ out: d.out, in: d.in, peerDoorbell: new Doorbell(d.peerBell), policy: 'wait', maxWaitMs: 100 }, hook);
const me = d.role === 'sender' ? '10.0.0.1' : '10.0.0.2';
const stack = new TcpStack(dev, { addrs: [me], mtu: d.mtu });
let stop = false;
let busyRounds = 0;
const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

async function loop(): Promise<void> {
  while (!stop) {
    inRound = true;
    let n = 0;
    try {
      n = dev.drain(1024);
    } finally {
      inRound = false;
      dev.producer.publish();
    }
    if (n > 0) {
      // Streams and timers run between rounds: yield to the event loop once the ring is drained
      // (or every few full rounds), not after every batch.
      if (n < 1024 || ++busyRounds % 4 === 0) await immediate();
      continue;
    }
    const seq = bell.prepare();
    if (dev.available() > 0) {
      bell.cancel();
      continue;
    }
    await bell.parkAsync(seq, 2);
  }
}

async function main(): Promise<void> {
  const running = loop();
  if (d.role === 'receiver') {
    const server = stack.listen(5001);
    parentPort!.postMessage({ ready: true });
    const conn = (await server.accept())!;
    let n = 0;
    let t0 = 0;
    const result = await new Promise<{ bytes: number; ms: number }>((resolve) => {
      conn.on('data', (b: Buffer) => {
        if (n === 0) t0 = performance.now();
        n += b.length;
      });
      conn.on('end', () => {
        resolve({ bytes: n, ms: performance.now() - t0 });
        conn.end();
      });
    });
    const s = stack.stats();
    parentPort!.postMessage({ result, retransmits: s.tcb.retransmits, drops: s.drops });
  } else {
    const conn: Conn = await stack.dial('10.0.0.2', 5001);
    conn.resume();
    const chunk = Buffer.alloc(d.chunk, 0x5a);
    let sent = 0;
    while (sent < d.bytes) {
      const n = Math.min(chunk.length, d.bytes - sent);
      sent += n;
      if (!conn.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await new Promise((r) => conn.once('drain', r));
    }
    conn.end();
    await new Promise((r) => conn.once('close', r));
    parentPort!.postMessage({ sent });
  }
  // Linger until told to stop (the peer may still need our ACKs).
  await new Promise<void>((r) => parentPort!.once('message', () => r()));
  stop = true;
  bell.wake();
  await running;
  stack.close();
  dev.close();
  parentPort!.postMessage({ done: true });
}

void main();
