/**
 * Initial sequence numbers (RFC 6528 §3):
 *
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * "where M is the 4 microsecond timer, and F() is a pseudorandom function (PRF) of the
 * connection-id. F() MUST NOT be computable from the outside, or an attacker could still guess
 * at sequence numbers from the ISN used for some other connection." M comes from the injected
 * clock (ms * 250, mod 2^32); F is the first 32 bits of SHA-256(secret || tuple), the prefix-keyed
 * construction syn-cookies.ts uses (fixed-length messages; see there for why not HMAC). So two
 * connections with the same four-tuple get ISNs that grow with time, as RFC 9293 §3.4.1 wants
 * for old duplicates, and different tuples' ISNs are unrelated.
 *
 * The secret is fixed for the generator's life (RFC 6528 §3 suggests changing it only with care:
 * a new secret breaks the monotonicity for every tuple). One Buffer per call (the digest).
 */

import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { PktRangeError } from '../errors.js';
import { KEYED_BLOCK_LEN, fillTuple, hashBlock32 } from './syn-cookies.js';

/** RFC 6528 §3 / RFC 9293 §3.4.1: M ticks every 4 µs, 250 ticks per millisecond. */
export const ISN_TICKS_PER_MS = 250;
const KEY_LEN = 32;

export interface IsnOptions {
  clock: Clock;
  /** At least 16 bytes; 32 random bytes by default. Bytes after the 32nd are ignored. */
  secret?: Uint8Array;
}

export class IsnGenerator {
  private readonly clock: Clock;
  /** key || tuple, reused (the syn-cookie layout; its ISN, epoch and MSS fields stay zero). */
  private readonly block: Buffer;

  /** @throws PktRangeError when the secret is shorter than 16 bytes. */
  constructor(opts: IsnOptions) {
    if (opts.secret !== undefined && opts.secret.length < 16) {
      throw new PktRangeError(`isn: secret must be at least 16 bytes, got ${opts.secret.length}`);
    }
    this.clock = opts.clock;
    this.block = Buffer.alloc(KEYED_BLOCK_LEN);
    const secret = opts.secret ?? randomBytes(KEY_LEN);
    this.block.set(secret.length > KEY_LEN ? secret.subarray(0, KEY_LEN) : secret, 0);
  }

  /** M: the 4 µs timer at `now`, mod 2^32. */
  static timer(nowMs: number): number {
    return Math.floor(nowMs * ISN_TICKS_PER_MS) >>> 0;
  }

  /**
   * The ISN for a connection from `local`:`localPort` to `remote`:`remotePort` (addresses of 4 or
   * 16 bytes).
   * @throws PktRangeError for another address length.
   */
  next(local: Uint8Array, remote: Uint8Array, localPort: number, remotePort: number): number {
    fillTuple(this.block, local, remote, localPort, remotePort);
    return (IsnGenerator.timer(this.clock.now()) + hashBlock32(this.block)) >>> 0;
  }
}
