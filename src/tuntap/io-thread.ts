/**
 * The I/O thread of a TUN/TAP queue in the dataplane (started by `attachTun` / `attachTap`, its
 * entry in workers/tuntap-io.ts): it moves frames between one descriptor and an external port
 * of an engine, and sleeps in the addon's poll(2) when there is nothing to move.
 *
 *   loop:
 *     fill:  read frames from the descriptor into free slots of toEngine, publish, ring the engine
 *     drain: write the frames published in fromEngine to the descriptor, release their slots
 *     moved something? go round again
 *     toEngine full while the descriptor has frames? wait for room (the engine notifies TAIL),
 *       up to rxMaxWaitMs, then drop one frame (policy 'wait'); at once (policy 'drop')
 *     else park: doorbell.prepare(); look at fromEngine once more; waitFds([fd], eventfd)
 *   until stopped, the rings closed (the link is down) or the descriptor failed
 *
 * Waking: the thread registered its eventfd with its doorbell (`setKickFd`), so the engine's
 * worker, publishing into fromEngine and finding it asleep, writes the eventfd
 * (`Doorbell.kicker`, installed where the addon is loaded: port workers load it at start), and
 * the kernel wakes the poll when the descriptor becomes readable. Stopping: the control thread
 * sets STOP and wakes the doorbell (`wake` kicks the eventfd too).
 *
 * The thread owns its descriptor: it closes it on the way out (after setting FdClosed, so the
 * control thread closes it only if the thread died before). Its eventfd is closed by the
 * control thread, later (see IoControl.KickFd).
 */

import { Doorbell } from '../../rings/index.js';
import type { ExternalPortEnd } from '../dataplane/external-port.js';
import { IoStat, tuntapNative } from './native.js';
import { FILL_CLOSED, FILL_FULL, NativeRingConsumer, NativeRingProducer } from './ring-io.js';

/** Int32 indices of an I/O thread's control words. */
export const IoControl = {
  /** Set to 1 by the control thread: finish and exit. */
  Stop: 0,
  /** One of IoState. */
  State: 1,
  /** 1 once the thread closed its descriptor (or is about to). */
  FdClosed: 2,
  /**
   * The thread's eventfd plus one. The control thread closes it, after the thread has exited
   * and the port is unlinked: a producer that found the thread asleep may still be about to
   * kick it, and a closed descriptor's number can be reused by any open.
   */
  KickFd: 3,
} as const;
export const IO_CONTROL_BYTES = 16;

export const IoState = {
  Starting: 0,
  Running: 1,
  /** The engine's end is gone (its rings were closed): the thread has exited, its descriptor closed. */
  LinkDown: 2,
  /** The descriptor failed (the interface was deleted); the thread has exited. */
  Failed: 3,
  Stopped: 4,
} as const;

/** What the I/O thread gets (structured-clonable). */
export interface IoThreadData {
  fd: number;
  end: ExternalPortEnd;
  /** Float64 x IO_STATS_LEN, shared with the control thread. */
  counters: SharedArrayBuffer;
  /** Int32 x 4 (IoControl). */
  control: SharedArrayBuffer;
  /** Frames per native call. */
  batch: number;
  /** toEngine full: wait for room up to rxMaxWaitMs, then drop ('wait'), or drop at once ('drop'). */
  rxPolicy: 'wait' | 'drop';
  rxMaxWaitMs: number;
  /** Longest park (a stop is noticed by the kick; this only bounds a lost one). */
  idleTimeoutMs: number;
  /** The virtio-net header's length on the descriptor (0: none; reads segment super-packets). */
  vnetHdrLen: number;
}

/**
 * Runs the loop until stopped, until the engine's link goes down (unlinked, its worker died, the
 * dataplane closed: the thread then exits by itself, so that nothing is left running), or until
 * the descriptor fails.
 */
export function runIoThread(d: IoThreadData, onRunning: () => void = () => {}): void {
  const n = tuntapNative();
  const c = new Float64Array(d.counters);
  const ctl = new Int32Array(d.control);
  const fd = d.fd;
  const kick = n.eventfdCreate();
  Atomics.store(ctl, IoControl.KickFd, kick + 1);
  const bell = new Doorbell(d.end.doorbell);
  const rx = new NativeRingProducer(d.end.toEngine, n, new Doorbell(d.end.engineDoorbell), d.batch, d.vnetHdrLen);
  const tx = new NativeRingConsumer(d.end.fromEngine, n, d.batch, d.vnetHdrLen);
  const fds = new Int32Array([fd]);
  const ready = new Int32Array(1);
  const waitPolicy = d.rxPolicy === 'wait';
  let fullSince = -1;
  let state: number = IoState.Running;
  bell.setKickFd(kick);
  Atomics.store(ctl, IoControl.State, IoState.Running);
  onRunning();
  try {
    while (Atomics.load(ctl, IoControl.Stop) === 0) {
      const r = rx.fill(fd, c);
      let moved = r > 0 ? r : 0;
      moved += tx.drain(fd, c);
      if (c[IoStat.FatalErrno] !== 0) {
        state = IoState.Failed;
        break;
      }
      if (r === FILL_CLOSED || tx.closed) {
        // The engine's end is gone (unlinked, or its worker died, or the dataplane closed).
        tx.discard(c);
        state = IoState.LinkDown;
        break;
      }
      if (moved > 0) {
        fullSince = -1;
        continue;
      }
      if (r === FILL_FULL && (rx.pending || n.waitFds(fds, -1, 0, ready) > 0)) {
        // The engine's ring is full and the kernel has frames for it (or segments are waiting).
        c[IoStat.RxFullWaits]!++;
        const now = performance.now();
        if (fullSince < 0) fullSince = now;
        const left = d.rxMaxWaitMs - (now - fullSince);
        // Wait in steps of at most 1 ms, so that frames from the engine still go out meanwhile.
        if (waitPolicy && left > 0) rx.waitForRoom(left < 1 ? left : 1);
        else {
          rx.dropOne(fd, c);
          fullSince = -1;
        }
        continue;
      }
      bell.prepare();
      if (tx.available() > 0 || rx.pending) {
        bell.cancel();
        continue;
      }
      c[IoStat.Parks]!++;
      const k = n.waitFds(fds, kick, d.idleTimeoutMs, ready);
      bell.cancel();
      if (k === 0) c[IoStat.Timeouts]!++;
      else if (ready[0] === 0) c[IoStat.Wakeups]!++;
    }
  } finally {
    if (state === IoState.Failed) {
      // The device is gone: the engine's side counts what it sends as dropped (closed) from now on.
      rx.close();
      tx.close();
    }
    bell.setKickFd(null);
    Atomics.store(ctl, IoControl.FdClosed, 1);
    n.fdClose(fd);
    if (state === IoState.Running) state = IoState.Stopped;
    Atomics.store(ctl, IoControl.State, state);
  }
}
