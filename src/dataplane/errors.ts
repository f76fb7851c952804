/**
 * The dataplane's one error of its own, and how errors cross between a port worker and the
 * control thread.
 *
 * Structured cloning keeps an Error's message but not its class or its `code`, so a worker sends
 * `{ name, message, code, stack }` and the control thread rebuilds the same pktkit error class
 * with the same stable code: a `PktRangeError` thrown by `new L2Hub({ maxMacs: 0 })` inside a
 * worker reaches the caller of `dp.create` as a `PktRangeError`.
 */

import { ClosedError, ConfigError, PktError, PktRangeError, PktTypeError, type PktErrorCode } from '../errors.js';

/**
 * The worker that runs (or was asked to run) an engine has died, so the operation cannot proceed.
 * Code ERR_PKT_CLOSED: the worker is closed for good; `cause` is what killed it when known.
 */
export class WorkerDeadError extends PktError {
  readonly worker: number;
  constructor(worker: number, what: string, options?: { cause?: unknown }) {
    super('ERR_PKT_CLOSED', `dataplane: worker ${worker} is dead (${what})`, options);
    this.name = 'WorkerDeadError';
    this.worker = worker;
  }
}

/** An error as it travels in a message. */
export interface SerializedError {
  name: string;
  message: string;
  code: string | undefined;
  stack: string | undefined;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, code: typeof code === 'string' ? code : undefined, stack: err.stack };
  }
  return { name: 'Error', message: `non-Error thrown: ${String(err)}`, code: undefined, stack: undefined };
}

/** Rebuilds an error sent by worker `worker` as the same class (pktkit classes, TypeError, RangeError). */
export function deserializeError(e: SerializedError, worker: number): Error {
  let err: Error;
  switch (e.name) {
    case 'PktRangeError':
      err = new PktRangeError(e.message);
      break;
    case 'PktTypeError':
      err = new PktTypeError(e.message, e.code === 'ERR_PKT_INVALID_ADDRESS' ? 'ERR_PKT_INVALID_ADDRESS' : 'ERR_PKT_INVALID_ARG');
      break;
    case 'ConfigError':
      err = new ConfigError(e.message);
      break;
    case 'ClosedError':
      err = new ClosedError('');
      err.message = e.message;
      break;
    case 'WireFormatError':
    case 'PktError':
      err = new PktError((e.code ?? 'ERR_PKT_IO') as PktErrorCode, e.message);
      break;
    case 'TypeError':
      err = new TypeError(e.message);
      break;
    case 'RangeError':
      err = new RangeError(e.message);
      break;
    default:
      err = new Error(e.message);
      if (e.name !== 'Error') err.name = e.name;
      if (e.code !== undefined) (err as Error & { code?: string }).code = e.code;
  }
  if (e.stack !== undefined) err.stack = `${e.stack}\n    (in dataplane worker ${worker})`;
  return err;
}
