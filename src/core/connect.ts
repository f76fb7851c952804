/**
 * Wiring: point-to-point links (`connectL2`, `connectL3`) and the accept loop (`serve`,
 * `serveWithDone`) that attaches each incoming device to a connector and detaches it again when
 * the device says its connection is gone.
 */

import { ClosedError } from '../errors.js';
import {
  hasDoneSignal,
  type AcceptedL2,
  type Cleanup,
  type L2Acceptor,
  type L2AcceptorWithDone,
  type L2Connector,
  type L2Device,
  type L3Device,
} from './device.js';

/** Wires two L2 devices point to point: each one's frames go to the other's `send`. */
export function connectL2(a: L2Device, b: L2Device): void {
  a.setHandler((frame) => b.send(frame));
  b.setHandler((frame) => a.send(frame));
}

/** Wires two L3 devices point to point: each one's packets go to the other's `send`. */
export function connectL3(a: L3Device, b: L3Device): void {
  a.setHandler((packet) => b.send(packet));
  b.setHandler((packet) => a.send(packet));
}

export interface ServeOptions {
  /** Stops the loop; a device accepted after the abort is closed, not attached. */
  signal?: AbortSignal;
  /** Told of each device the connector refused (the device is closed) and of cleanup errors. */
  onError?: (err: unknown, device: L2Device) => void;
}

/** What one turn of the loop got: a device with its optional done signal, or the end. */
type Next = AcceptedL2 | null;

async function runLoop(next: () => Promise<Next>, connector: L2Connector, opts: ServeOptions): Promise<void> {
  const { signal, onError } = opts;
  let onAbort: (() => void) | null = null;
  const aborted = new Promise<null>((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) return resolve(null);
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (;;) {
      if (signal?.aborted) return;
      const pending = next();
      const got = await Promise.race([pending, aborted]);
      if (got === null) {
        // Aborted (or the acceptor ended): a device that still arrives is closed, not leaked.
        if (signal?.aborted) pending.then((a) => a?.device.close(), () => {});
        return;
      }
      const { device, done } = got;
      let cleanup: Cleanup;
      try {
        cleanup = await connector.connectL2(device);
      } catch (err) {
        await device.close();
        onError?.(err, device);
        continue;
      }
      const ended = done ?? (hasDoneSignal(device) ? device.done : undefined);
      if (ended !== undefined) {
        ended.then(
          () => {
            try {
              cleanup();
            } catch (err) {
              onError?.(err, device);
            }
          },
          (err: unknown) => onError?.(err, device),
        );
      }
    }
  } finally {
    if (onAbort !== null) signal?.removeEventListener('abort', onAbort);
  }
}

function isClosed(err: unknown): boolean {
  return err instanceof ClosedError;
}

/**
 * The accept loop (the seed's Serve): attaches each device the acceptor produces to the
 * connector. If the device has a `done` promise (DoneSignal), its cleanup runs when it resolves.
 * A device the connector refuses is closed and reported to `onError`.
 *
 * Resolves when the acceptor is closed (it rejects with a ClosedError, or an async iterable
 * ends) or the signal aborts; rejects with any other acceptor error. Attached devices stay
 * attached when the loop ends: they belong to the connector.
 */
export function serve(acceptor: L2Acceptor | AsyncIterable<L2Device>, connector: L2Connector, opts: ServeOptions = {}): Promise<void> {
  if (Symbol.asyncIterator in acceptor) {
    const it = acceptor[Symbol.asyncIterator]();
    return runLoop(async () => {
      const r = await it.next();
      return r.done ? null : { device: r.value };
    }, connector, opts);
  }
  return runLoop(async () => {
    try {
      return { device: await acceptor.acceptL2() };
    } catch (err) {
      if (isClosed(err)) return null;
      throw err;
    }
  }, connector, opts);
}

/**
 * As `serve`, for acceptors that know when each connection ends and say so alongside the device
 * (the seed's ServeWithDone): the cleanup runs when that `done` promise resolves.
 */
export function serveWithDone(
  acceptor: L2AcceptorWithDone | AsyncIterable<AcceptedL2>,
  connector: L2Connector,
  opts: ServeOptions = {},
): Promise<void> {
  if (Symbol.asyncIterator in acceptor) {
    const it = acceptor[Symbol.asyncIterator]();
    return runLoop(async () => {
      const r = await it.next();
      return r.done ? null : r.value;
    }, connector, opts);
  }
  return runLoop(async () => {
    try {
      return await acceptor.acceptL2WithDone();
    } catch (err) {
      if (isClosed(err)) return null;
      throw err;
    }
  }, connector, opts);
}
