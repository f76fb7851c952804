/**
 * Handshake crypto on a worker pool under a storm (issue: "under a handshake storm, handshake
 * crypto runs in the piscina pool so that the data path keeps moving"). A responder spends
 * about 0.5 ms of X25519 and BLAKE2s per initiation; a few thousand initiations a second would
 * take the device's thread from its transport packets. With a `HandshakeJobRunner` (the
 * dataplane's `TaskPool`, `dp.tasks`, fits it), the device hands each admitted initiation to the
 * pool instead, in two stateless jobs (handshake-jobs.ts), and applies the results back on its
 * own thread, where it redoes every state check:
 *
 *   admitted initiation (mac1, and under load mac2 and the rate limit: cookie.ts)
 *     |  in flight < maxJobs? else dropped: HandshakeBusy
 *     v
 *   pool: consumeInitiationJob ---> device: peer by static key (or onUnknownPeer), TAI64N and
 *                                    flood rules against the handshake *now*, commit
 *   pool: createResponseJob    ---> device: the peer still there and its handshake still the
 *                                    one the job started from? (else HandshakeStale) then index,
 *                                    macs, keypair (next), response sent
 *
 * Transport packets never wait for a job: they go on the device's thread as before, and a
 * handshake's keypair only appears once its response is sent. Initiations answered while jobs
 * are out are ordered by the TAI64N rule, as they are inline.
 *
 * When: `mode: 'under-load'` (default) offloads only while the device's handshake gate is
 * under load (LoadDetector, or the device's `underLoad` option); 'always' offloads every one
 * (tests, a dedicated concentrator).
 */

import { PktTypeError } from '../errors.js';
import { Handshake, HandshakeState, commitInitiation, initiationRules, type StaticIdentity } from './noise.js';
import { KEY_LEN, Resp } from './constants.js';
import type { ConsumeInitiationResult, ConsumedInitiation, CreateResponseResult } from './handshake-jobs.js';
import { consumeInitiationJob, createResponseJob } from './handshake-jobs.js';
import type { WgPeer } from './peer.js';
import { WgDrop, type WgDropCounters } from './stats.js';
import { ENDPOINT_WORDS } from './bind.js';

/** Runs named jobs somewhere else: `dp.tasks` (a TaskPool) is one. */
export interface HandshakeJobRunner {
  run(name: 'wg-consume-initiation' | 'wg-create-response', payload: unknown): Promise<unknown>;
}

/** Runs the jobs in this thread, one microtask later (tests; no pool at hand). */
export const inlineJobRunner: HandshakeJobRunner = {
  run(name, payload) {
    return Promise.resolve().then(() =>
      name === 'wg-consume-initiation' ? consumeInitiationJob(payload as Parameters<typeof consumeInitiationJob>[0]) : createResponseJob(payload as Parameters<typeof createResponseJob>[0]),
    );
  },
};

export interface HandshakeOffloadOptions {
  runner: HandshakeJobRunner;
  /** 'under-load' (default): only while handshakes are under load; 'always'. */
  mode?: 'under-load' | 'always';
  /** Most initiations in the pool at once (default 256); more are dropped (HandshakeBusy). */
  maxJobs?: number;
}

/** What the offload asks of its device (all called on the device's thread). */
export interface OffloadHost {
  readonly identity: StaticIdentity;
  readonly drops: WgDropCounters;
  isClosed(): boolean;
  random(b: Uint8Array): void;
  /** Reads the clock (ms). */
  syncTime(): number;
  findPeer(publicKey: Uint8Array): WgPeer | null;
  /** Whether an unknown key may be offered to `onUnknownPeer` now (hook set, room for a peer). */
  mayEnrol(): boolean;
  /** Asks `onUnknownPeer` about the authenticated handshake `hs`: the new peer, or null. */
  enrol(hs: Handshake, from: Int32Array): WgPeer | null;
  /** The initiation authenticated and committed: roaming, counters, timers. */
  initiationReceived(peer: WgPeer, from: Int32Array): void;
  /** A fresh receiver index naming `peer`'s handshake, or -1 (table full). */
  newHandshakeIndex(peer: WgPeer): number;
  /** Macs, keypair (next), counters, send: the response in msg[0..92) with `index` committed. */
  finishResponse(peer: WgPeer, index: number, msg: Uint8Array, nowMs: number): void;
}

export class HandshakeOffload {
  readonly mode: 'under-load' | 'always';
  readonly maxJobs: number;
  /** Initiations between admission and their response (or drop). */
  inFlight = 0;
  /** Jobs completed and applied (responses sent). */
  completed = 0;
  readonly #runner: HandshakeJobRunner;
  readonly #host: OffloadHost;

  /** @throws {PktTypeError} on a runner without `run` or a bad mode or bound. */
  constructor(opts: HandshakeOffloadOptions, host: OffloadHost) {
    if (opts === null || typeof opts !== 'object' || opts.runner === null || typeof opts.runner?.run !== 'function') {
      throw new PktTypeError('WgDevice handshakeOffload: expected { runner: { run(name, payload) } }');
    }
    const mode = opts.mode ?? 'under-load';
    if (mode !== 'under-load' && mode !== 'always') throw new PktTypeError(`WgDevice handshakeOffload: mode must be 'under-load' or 'always', got ${String(mode)}`);
    const max = opts.maxJobs ?? 256;
    if (!Number.isInteger(max) || max < 1 || max > 65536) throw new PktTypeError(`WgDevice handshakeOffload: maxJobs must be an integer in [1, 65536], got ${String(max)}`);
    this.mode = mode;
    this.maxJobs = max;
    this.#runner = opts.runner;
    this.#host = host;
  }

  /** Whether an admitted initiation goes to the pool (`underLoad`: the gate's verdict on it). */
  wants(underLoad: boolean): boolean {
    return this.mode === 'always' || underLoad;
  }

  /** Hands the initiation d[0..148) from the record at from[fromOff] to the pool (both copied). */
  consume(d: Uint8Array, from: Int32Array, fromOff: number): void {
    const host = this.#host;
    if (this.inFlight >= this.maxJobs) return host.drops.add(WgDrop.HandshakeBusy);
    this.inFlight++;
    const rec = from.slice(fromOff, fromOff + ENDPOINT_WORDS);
    this.#runner
      .run('wg-consume-initiation', { privateKey: host.identity.keyPair.privateKey, msg: d.slice() })
      .then(
        (r) => this.#consumed(r as ConsumeInitiationResult, rec),
        () => this.#failed(),
      )
      .catch(this.#broken);
  }

  /**
   * A result handler threw (a runner that answered something other than a job result): counted,
   * never an unhandled rejection. The job no longer counts as in flight.
   */
  readonly #broken = (): void => {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.#host.drops.add(WgDrop.HandshakeBusy);
  };

  #failed(): void {
    this.inFlight--;
    this.#host.drops.add(WgDrop.HandshakeBusy);
  }

  #consumed(r: ConsumeInitiationResult, from: Int32Array): void {
    const host = this.#host;
    if (host.isClosed()) return void this.inFlight--;
    if (r.drop !== 0) {
      this.inFlight--;
      return host.drops.add(r.drop);
    }
    const peer = this.#apply(r as ConsumedInitiation, from);
    if (peer === null) return void this.inFlight--;
    const hs = peer.handshake;
    const launched = hs.chainKey;
    const e = new Uint8Array(KEY_LEN);
    host.random(e);
    const payload = {
      privateKey: host.identity.keyPair.privateKey,
      chainKey: hs.chainKey,
      hash: hs.hash,
      remoteEphemeral: hs.remoteEphemeral,
      remoteStatic: hs.remoteStatic,
      psk: hs.psk,
      remoteIndex: hs.remoteIndex,
      ephemeralPrivate: e,
    };
    this.#runner
      .run('wg-create-response', payload)
      .then(
        (res) => this.#responded(peer, hs, launched, res as CreateResponseResult),
        () => this.#failed(),
      )
      .catch(this.#broken);
  }

  #responded(peer: WgPeer, hs: Handshake, launched: Uint8Array, r: CreateResponseResult): void {
    this.inFlight--;
    const host = this.#host;
    if (host.isClosed()) return;
    // The peer removed, or a newer initiation consumed (inline or by another job) meanwhile.
    if (peer.removed || peer.handshake !== hs || hs.state !== HandshakeState.InitiationConsumed || hs.chainKey !== launched) return host.drops.add(WgDrop.HandshakeStale);
    if (r.drop !== 0) return host.drops.add(r.drop);
    const ok = r as Extract<CreateResponseResult, { drop: 0 }>;
    const now = host.syncTime();
    const index = host.newHandshakeIndex(peer);
    if (index < 0) return host.drops.add(WgDrop.TableFull);
    peer.lastSentHandshakeMs = now;
    const msg = ok.msg;
    msg[Resp.Sender] = index;
    msg[Resp.Sender + 1] = index >>> 8;
    msg[Resp.Sender + 2] = index >>> 16;
    msg[Resp.Sender + 3] = index >>> 24;
    hs.chainKey = ok.chainKey;
    hs.hash = ok.hash;
    hs.localIndex = index;
    hs.state = HandshakeState.ResponseCreated;
    host.finishResponse(peer, index, msg, now);
    this.completed++;
  }

  /**
   * A consumed initiation from the pool, applied as the inline path would: the peer by its static
   * key (or enrolment), then the §2.7 rules against the handshake as it is *now* (a newer
   * initiation may have been accepted meanwhile), then commit. The peer, or null (counted).
   */
  #apply(r: ConsumedInitiation, from: Int32Array): WgPeer | null {
    const host = this.#host;
    const now = host.syncTime();
    let peer = host.findPeer(r.remoteStatic);
    let hs: Handshake;
    if (peer !== null) hs = peer.handshake;
    else if (!host.mayEnrol()) return this.#drop(WgDrop.UnknownPeer);
    else hs = new Handshake(host.identity, r.remoteStatic, null);
    if (hs.precomputedSS === null) return this.#drop(WgDrop.BadKey);
    const rule = initiationRules(hs, r.timestamp, now);
    if (rule !== 0) return this.#drop(rule);
    commitInitiation(hs, r.chainKey, r.hash, r.remoteEphemeral, null, r.sender, r.timestamp, now);
    peer ??= host.enrol(hs, from);
    if (peer === null) return this.#drop(WgDrop.UnknownPeer);
    host.initiationReceived(peer, from);
    return peer;
  }

  #drop(reason: number): null {
    this.#host.drops.add(reason);
    return null;
  }
}
