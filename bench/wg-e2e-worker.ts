/**
 * Worker side of the WireGuard end-to-end benchmark (bench/wg-e2e.ts): one WireGuard endpoint
 * (a WgDevice) per worker thread, over IPv4 loopback UDP, with the transport AEAD of the addon or
 * of node:crypto and the outer socket batched (pktkit/udp) or node:dgram.
 *
 *   role 'a' (worker 1)                                   role 'b' (worker 2)
 *   inner packets --send--> WgDevice ~~UDP loopback~~> WgDevice --handler--> counted (RECEIVED)
 *   pings         <--------------------------------------------------------- echoed (LATENCY)
 *
 * Phases (ctl[PHASE]): RUN (a sends 1420-byte inner IPv4 packets flat out, at most `window`
 * ahead of what b has counted, so nothing is lost for lack of buffer), LATENCY (a sends one
 * 64-byte ping at a time and b echoes it through the tunnel: round-trip times), STOP.
 *
 * The batched endpoints run a blocking loop (recvmmsg, `wait` on the socket between batches,
 * explicit flushes), as a port worker dedicated to the tunnel would; the dgram endpoints run on
 * their event loop (one callback per datagram, as node:dgram works). Either way everything
 * between the inner packet and the socket is the library's own path (WgDevice.send,
 * BatchedUdpBind/DgramBind, WgDevice.receiveBatch/receive).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { UdpSocket } from '../src/udp/index.js';
import { BatchedUdpBind, DgramBind } from '../src/wg/bind-udp.js';
import { WgDevice } from '../src/wg/device.js';

export type E2eUdp = 'batched' | 'dgram';
export type E2eAead = 'addon' | 'node';

export interface E2eRole {
  role: 'a' | 'b';
  udp: E2eUdp;
  aead: E2eAead;
  gso: boolean;
  /** Inner packet size for throughput (bytes of IP packet). */
  size: number;
  window: number;
  batch: number;
  /** Pings in the LATENCY phase. */
  pings: number;
  privateKey: string;
  peerKey: string;
  ctl: SharedArrayBuffer;
  /** a: b's UDP port. */
  port?: number;
}

/** ctl cells (Int32Array): inner packets b received, the phase, pings answered. */
export const RECEIVED = 0;
export const PHASE = 16;
export const RUN = 0;
export const STOP = 1;
export const LATENCY = 2;
/** Set to 1 by a once its pings are done. */
export const PINGS_DONE = 32;

export interface E2eResult {
  done: true;
  rttUs?: number[];
  drops?: Record<string, number>;
}

const PING_SIZE = 64;

/** An IPv4/UDP packet of `len` bytes from 10.0.1.1 to 10.0.2.1 (checksums are not the tunnel's business). */
function innerPacket(len: number, src: number, dst: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >>> 8;
  p[3] = len & 255;
  p[8] = 64;
  p[9] = 17;
  p.set([10, 0, src, 1], 12);
  p.set([10, 0, dst, 1], 16);
  p.fill(0xab, 28);
  return p;
}

function swap(p: Uint8Array): void {
  for (let i = 0; i < 4; i++) {
    const t = p[12 + i]!;
    p[12 + i] = p[16 + i]!;
    p[16 + i] = t;
  }
}

async function main(w: E2eRole): Promise<void> {
  const ctl = new Int32Array(w.ctl);
  const phase = (): number => Atomics.load(ctl, PHASE);
  const a = w.role === 'a';
  const aead = { native: w.aead === 'addon' };
  let socket: UdpSocket | null = null;
  let bind: BatchedUdpBind | DgramBind;
  if (w.udp === 'batched') {
    socket = UdpSocket.open({ bind: '127.0.0.1:0', gso: w.gso, rxEntries: 64, txEntries: 256, recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
    bind = new BatchedUdpBind(socket);
  } else {
    bind = await DgramBind.open({ address: '127.0.0.1', port: 0, recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  }
  const device = new WgDevice({
    privateKey: w.privateKey,
    bind,
    aead,
    peers: [a ? { publicKey: w.peerKey, endpoint: `127.0.0.1:${w.port!}`, allowedIps: ['10.0.2.0/24'] } : { publicKey: w.peerKey, allowedIps: ['10.0.1.0/24'] }],
  });
  const peer = device.peer(w.peerKey)!;
  const port = socket !== null ? socket.localAddress.port : (bind as DgramBind).port;
  parentPort!.postMessage({ port });

  const rtt: number[] = [];
  let received = 0;
  let gotReply = false;
  // b: counts in RUN, echoes in LATENCY; a: notes replies.
  device.setHandler(
    a
      ? () => {
          gotReply = true;
        }
      : (p) => {
          if (p.length === PING_SIZE) {
            swap(p);
            device.send(p);
            return;
          }
          received++;
        },
  );

  if (socket !== null) {
    const s = socket;
    const pb = bind as BatchedUdpBind;
    const poll = (): number => {
      const n = pb.pollBatch(device);
      s.flush(0);
      return n;
    };
    if (!a) {
      while (phase() !== STOP) {
        if (poll() > 0) {
          Atomics.store(ctl, RECEIVED, received);
          Atomics.notify(ctl, RECEIVED);
        } else s.wait(20);
      }
    } else {
      device.connect(w.peerKey);
      s.flush(0);
      while (peer.current === null && phase() !== STOP) if (poll() === 0) s.wait(20);
      const pkt = innerPacket(w.size, 1, 2);
      let sent = 0;
      while (phase() === RUN) {
        poll();
        const acked = Atomics.load(ctl, RECEIVED);
        if (sent - acked + w.batch > w.window) {
          Atomics.wait(ctl, RECEIVED, acked, 2);
          continue;
        }
        for (let i = 0; i < w.batch; i++) device.send(pkt);
        s.flush(0);
        sent += w.batch;
      }
      if (phase() === LATENCY) {
        const ping = innerPacket(PING_SIZE, 1, 2);
        for (let i = 0; i < w.pings && phase() === LATENCY; i++) {
          gotReply = false;
          const t0 = performance.now();
          device.send(ping);
          s.flush(0);
          while (!gotReply && phase() === LATENCY) if (poll() === 0) s.wait(20);
          rtt.push((performance.now() - t0) * 1000);
        }
      }
      Atomics.store(ctl, PINGS_DONE, 1);
      while (phase() !== STOP) Atomics.wait(ctl, PHASE, LATENCY, 20);
    }
    const drops = device.drops.snapshot();
    device.close();
    parentPort!.postMessage({ done: true, rttUs: rtt, drops } satisfies E2eResult);
    return;
  }

  // node:dgram: everything on the event loop.
  if (!a) {
    const publish = setInterval(() => {
      if (phase() === STOP) {
        clearInterval(publish);
        const drops = device.drops.snapshot();
        device.close();
        parentPort!.postMessage({ done: true, drops } satisfies E2eResult);
      }
    }, 20);
    device.setHandler((p) => {
      if (p.length === PING_SIZE) {
        swap(p);
        device.send(p);
        return;
      }
      Atomics.store(ctl, RECEIVED, ++received);
    });
    return;
  }
  device.connect(w.peerKey);
  while (peer.current === null && phase() !== STOP) await new Promise((r) => setTimeout(r, 5));
  const pkt = innerPacket(w.size, 1, 2);
  let sent = 0;
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      if (phase() !== RUN) return resolve();
      const room = w.window - (sent - Atomics.load(ctl, RECEIVED));
      const k = room < w.batch ? room : w.batch;
      for (let i = 0; i < k; i++) device.send(pkt);
      sent += k > 0 ? k : 0;
      setImmediate(turn);
    };
    turn();
  });
  if (phase() === LATENCY) {
    const ping = innerPacket(PING_SIZE, 1, 2);
    for (let i = 0; i < w.pings && phase() === LATENCY; i++) {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<boolean>((resolve) => {
        device.setHandler(() => resolve(true));
        timer = setTimeout(() => resolve(false), 1000); // a lost ping is not a sample
      });
      device.send(ping);
      if (await done) rtt.push((performance.now() - t0) * 1000);
      clearTimeout(timer);
    }
  }
  Atomics.store(ctl, PINGS_DONE, 1);
  while (phase() !== STOP) await new Promise((r) => setTimeout(r, 10));
  const drops = device.drops.snapshot();
  device.close();
  parentPort!.postMessage({ done: true, rttUs: rtt, drops } satisfies E2eResult);
}

if (!isMainThread && parentPort !== null) await main(workerData as E2eRole);
