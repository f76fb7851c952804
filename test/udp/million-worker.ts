/**
 * For test/udp/million.test.ts: one side of a loopback flow of numbered datagrams.
 *
 *   recv: opens a socket, posts its port, receives until it has `count` distinct sequence
 *         numbers (or nothing arrives for 5 s), publishing how many it has in ctl[RECEIVED]
 *         after every batch; reports duplicates and numbers out of range
 *   send: sends datagrams 0..count-1 (`size` bytes, the number in the first 4 bytes) to the
 *         receiver in batches, never more than `window` ahead of ctl[RECEIVED]
 *
 * The window is the flow control that makes "no loss" hold on a UDP socket: the kernel drops
 * datagrams when the receiver's buffer is full, so the sender keeps at most `window` datagrams
 * in flight, and the receiver's SO_RCVBUF (forced to 4 MiB, the kernel doubles it) holds them
 * all: 2048 x 1400 B datagrams take about 4.5 MiB of skb truesize on loopback.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UdpSocket, type UdpAddrView } from '../../src/udp/index.js';

export interface MillionRole {
  role: 'send' | 'recv';
  family: 4 | 6;
  count: number;
  size: number;
  window: number;
  gso: boolean;
  gro: boolean;
  /** Int32Array cells: [RECEIVED]. */
  ctl: SharedArrayBuffer;
  /** send: the receiver's port. */
  port?: number;
}

export interface MillionReport {
  role: 'send' | 'recv';
  received?: number;
  duplicates?: number;
  outOfRange?: number;
  badSize?: number;
  ms: number;
  stats: Record<string, number>;
  offloads: Record<string, number | boolean>;
}

export const RECEIVED = 0;

const w = workerData as MillionRole;
const ctl = new Int32Array(w.ctl);
const host = w.family === 4 ? '127.0.0.1' : '[::1]';

if (w.role === 'recv') {
  const sock = UdpSocket.open({ bind: `${host}:0`, recvBufferSize: 4 << 20, gro: w.gro, rxEntries: 64 });
  parentPort!.postMessage({ port: sock.localAddress.port });
  const seen = new Uint8Array(w.count);
  let received = 0;
  let duplicates = 0;
  let outOfRange = 0;
  let badSize = 0;
  const onDatagram = (d: Uint8Array, _from: UdpAddrView): void => {
    if (d.length !== w.size) badSize++;
    const seq = (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
    if (seq >= w.count) outOfRange++;
    else if (seen[seq] === 1) duplicates++;
    else {
      seen[seq] = 1;
      received++;
    }
  };
  const t0 = performance.now();
  let idleSince = performance.now();
  while (received < w.count) {
    const n = sock.recv(onDatagram);
    if (n > 0) {
      Atomics.store(ctl, RECEIVED, received);
      Atomics.notify(ctl, RECEIVED);
      idleSince = performance.now();
      continue;
    }
    if (performance.now() - idleSince > 5000) break;
    sock.wait(100);
  }
  const report: MillionReport = { role: 'recv', received, duplicates, outOfRange, badSize, ms: performance.now() - t0, stats: { ...sock.stats() }, offloads: { ...sock.offloads() } };
  sock.close();
  parentPort!.postMessage(report);
} else {
  const sock = UdpSocket.open({ bind: `${host}:0`, connect: `${host}:${w.port!}`, gso: w.gso, txEntries: 64 });
  const tx = sock.tx;
  const batch = tx.offs.length;
  const words = new Uint32Array(tx.data.buffer, tx.data.byteOffset, tx.data.byteLength >> 2);
  for (let i = 0; i < batch; i++) {
    tx.lens[i] = w.size;
    tx.addrs[i * 8] = 0; // the connected peer
    tx.data.fill(i & 0xff, tx.offs[i]!, tx.offs[i]! + w.size);
  }
  const t0 = performance.now();
  let sent = 0;
  while (sent < w.count) {
    // Flow control: at most `window` datagrams ahead of what the receiver has counted.
    for (;;) {
      const acked = Atomics.load(ctl, RECEIVED);
      if (sent - acked + batch <= w.window) break;
      Atomics.wait(ctl, RECEIVED, acked, 5);
    }
    const k = Math.min(batch, w.count - sent);
    for (let i = 0; i < k; i++) words[tx.offs[i]! >> 2] = sent + i;
    let done = 0;
    while (done < k) done += sock.sendEntries(done, k - done, 100);
    sent += k;
  }
  const report: MillionReport = { role: 'send', ms: performance.now() - t0, stats: { ...sock.stats() }, offloads: { ...sock.offloads() } };
  sock.close();
  parentPort!.postMessage(report);
}
