/**
 * Errors thrown at pktkit's API boundary, with stable `code`s (the undici and Node convention).
 *
 * Nothing here is thrown on a packet path: bad input from the network is dropped and counted by a
 * numeric reason. These are for the user of the API: a malformed address string, an option out of
 * range, a closed device, an exhausted pool. Messages say what was expected and what was got, and
 * are only ever built on the throw path.
 *
 * This module is a leaf: every layer may import it, it imports nothing.
 */

export type PktErrorCode =
  | 'ERR_PKT_INVALID_ARG'
  | 'ERR_PKT_OUT_OF_RANGE'
  | 'ERR_PKT_INVALID_ADDRESS'
  | 'ERR_PKT_WIRE_FORMAT'
  | 'ERR_PKT_CLOSED'
  | 'ERR_PKT_POOL_EXHAUSTED'
  | 'ERR_PKT_DOUBLE_FREE'
  | 'ERR_PKT_LIMIT'
  | 'ERR_PKT_CONFIG'
  | 'ERR_PKT_IO'
  /** The kernel refused for lack of permission (a sysctl, a capability); the message says which. */
  | 'ERR_PKT_PERMISSION'
  | 'ERR_PKT_NATIVE_UNAVAILABLE';

/** Base class of every pktkit error that is not a TypeError or RangeError. */
export class PktError extends Error {
  readonly code: PktErrorCode;
  constructor(code: PktErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PktError';
    this.code = code;
  }
}

/** A buffer handed to a cold-path decoder is not a well-formed message. `status` is the WireStatus. */
export class WireFormatError extends PktError {
  readonly status: number;
  constructor(message: string, status: number) {
    super('ERR_PKT_WIRE_FORMAT', message);
    this.name = 'WireFormatError';
    this.status = status;
  }
}

/** A configuration object is inconsistent (a range outside its subnet, say). */
export class ConfigError extends PktError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PKT_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** The object was closed; the operation cannot proceed. */
export class ClosedError extends PktError {
  constructor(what: string) {
    super('ERR_PKT_CLOSED', `${what} is closed`);
    this.name = 'ClosedError';
  }
}

/** An argument has the wrong type or shape. */
export class PktTypeError extends TypeError {
  readonly code: 'ERR_PKT_INVALID_ARG' | 'ERR_PKT_INVALID_ADDRESS';
  constructor(message: string, code: 'ERR_PKT_INVALID_ARG' | 'ERR_PKT_INVALID_ADDRESS' = 'ERR_PKT_INVALID_ARG') {
    super(message);
    this.name = 'PktTypeError';
    this.code = code;
  }
}

/** A numeric argument is outside the range it must be in. */
export class PktRangeError extends RangeError {
  readonly code = 'ERR_PKT_OUT_OF_RANGE';
  constructor(message: string) {
    super(message);
    this.name = 'PktRangeError';
  }
}

/**
 * Checks that `v` is an integer in [min, max] and returns it.
 * @throws {PktRangeError} otherwise, naming the argument.
 */
export function intInRange(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new PktRangeError(`${name}: expected an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}
