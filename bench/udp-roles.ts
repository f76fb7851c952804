/**
 * Worker side of the batched-UDP benchmark (bench/udp.ts): a sender or a receiver of 1400-byte
 * datagrams over IPv4 loopback, with Node's `dgram` or with pktkit/udp, running flat out until
 * the main thread sets the STOP phase.
 *
 * Both kinds use the same flow control: the receiver publishes how many datagrams it has had in
 * ctl[RECEIVED] and the sender stays at most `window` ahead, so no datagram is dropped for lack
 * of receive buffer (4 MiB, doubled by the kernel) and the rate measured is the rate delivered.
 * The dgram sender bursts `batch` sends per turn of its event loop (setImmediate), as the
 * measurements behind the design brief did; the dgram receiver counts in its 'message' handler.
 */
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { UdpSocket } from '../src/udp/index.js';
import { PHASE, RECEIVED, STOP, type UdpRole } from './udp-ctl.js';

const w = workerData as UdpRole;
const ctl = new Int32Array(w.ctl);
const stopped = (): boolean => Atomics.load(ctl, PHASE) === STOP;

function done(extra: Record<string, unknown> = {}): void {
  parentPort!.postMessage({ done: true, ...extra });
}

if (w.kind === 'dgram' && w.role === 'recv') {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  let n = 0;
  s.on('message', () => {
    Atomics.store(ctl, RECEIVED, ++n);
  });
  s.bind(0, '127.0.0.1', () => parentPort!.postMessage({ port: s.address().port }));
  const poll = setInterval(() => {
    if (!stopped()) return;
    clearInterval(poll);
    s.close(() => done());
  }, 20);
} else if (w.kind === 'dgram') {
  const s = dgram.createSocket('udp4');
  // At STOP the receiver may close first: the ICMP port unreachable that follows is expected.
  s.on('error', () => {});
  const buf = Buffer.alloc(w.size, 0xab);
  let sent = 0;
  const turn = (): void => {
    if (stopped()) {
      s.close(() => done());
      return;
    }
    // Flow control: never more than `window` ahead of the receiver.
    const room = w.window - (sent - Atomics.load(ctl, RECEIVED));
    const k = room < w.batch ? room : w.batch;
    for (let i = 0; i < k; i++) s.send(buf);
    sent += k > 0 ? k : 0;
    setImmediate(turn);
  };
  s.connect(w.port!, '127.0.0.1', () => turn());
} else if (w.role === 'recv') {
  const s = UdpSocket.open({ bind: '127.0.0.1:0', recvBufferSize: 4 << 20, gro: w.gro, rxEntries: w.batch });
  parentPort!.postMessage({ port: s.localAddress.port });
  let n = 0;
  while (!stopped()) {
    let k = 0;
    // Entries, not datagrams: a GRO entry holds a whole run. rx.addrs word 7 is its segment size.
    const e = s.recvEntries();
    for (let i = 0; i < e; i++) {
      const len = s.rx.lens[i]!;
      const seg = s.rx.addrs[i * 8 + 7]!;
      k += len < 0 ? 0 : seg === 0 ? 1 : Math.ceil(len / seg);
    }
    if (k > 0) {
      n += k;
      Atomics.store(ctl, RECEIVED, n);
      Atomics.notify(ctl, RECEIVED);
    } else {
      s.wait(20);
    }
  }
  const stats = s.stats();
  s.close();
  done({ stats });
} else {
  const s = UdpSocket.open({ bind: '127.0.0.1:0', connect: `127.0.0.1:${w.port!}`, gso: w.gso, txEntries: w.batch });
  const tx = s.tx;
  for (let i = 0; i < w.batch; i++) {
    tx.lens[i] = w.size;
    tx.addrs[i * 8] = 0; // the connected peer
    tx.data.fill(0xab, tx.offs[i]!, tx.offs[i]! + w.size);
  }
  let sent = 0;
  while (!stopped()) {
    const acked = Atomics.load(ctl, RECEIVED);
    if (sent - acked + w.batch > w.window) {
      Atomics.wait(ctl, RECEIVED, acked, 5);
      continue;
    }
    let k = 0;
    while (k < w.batch && !stopped()) k += s.sendEntries(k, w.batch - k, 20);
    sent += k;
  }
  const stats = s.stats();
  s.close();
  done({ stats });
}
