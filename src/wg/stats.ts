/**
 * Why WireGuard drops what it receives (and what it cannot send), as numbers: counted in a
 * Float64Array per device, never turned into strings on the packet path. `WG_DROP_NAMES` names
 * them for display (`wg show`-like stats, tests).
 */

export const WgDrop = {
  /** A handshake message of the wrong size, or a transport message under 32 or over 65535 bytes. */
  BadLength: 1,
  /** Unknown message type, or non-zero reserved bytes. */
  BadType: 2,
  /** mac1 did not verify (dropped silently, no cookie). */
  BadMac1: 3,
  /** Under load and mac2 missing or wrong: answered with a cookie reply, then dropped. */
  CookieSent: 4,
  /** An AEAD tag did not verify (handshake field or transport packet). */
  AuthFailed: 5,
  /** An initiation from a static key we do not know. */
  UnknownPeer: 6,
  /** A response, cookie reply or transport packet whose receiver index is not ours. */
  UnknownIndex: 7,
  /** TAI64N not after the last accepted one from that peer. */
  HandshakeReplay: 8,
  /** An initiation less than 20 ms after the last accepted one from that peer. */
  HandshakeFlood: 9,
  /** A low-order public key (all-zero DH result). */
  BadKey: 10,
  /** Transport counter already seen, too old for the window, or past REJECT_AFTER_MESSAGES. */
  Replay: 11,
  /** Transport on a keypair older than REJECT_AFTER_TIME. */
  KeypairExpired: 12,
  /** Decrypted packet that is not IPv4/IPv6 or whose length field disagrees with the plaintext. */
  BadInnerPacket: 13,
  /** Inner source address not in the sending peer's AllowedIPs. */
  SourceNotAllowed: 14,
  /** Outgoing packet whose destination matches no peer's AllowedIPs. */
  NoRoute: 15,
  /** Staged queue full: the oldest staged packet was dropped. */
  StagedFull: 16,
  /** Staged packets flushed when the handshake gave up or keys were zeroed. */
  StagedFlushed: 17,
  /** Larger than the MTU or a buffer allows. */
  TooBig: 18,
  /** A cookie reply that did not open (or with no mac1 sent). */
  BadCookie: 19,
  /** A peer's source address exceeded the handshake rate limit under load. */
  RateLimited: 20,
  /** The index table or a peer table is full. */
  TableFull: 21,
  /** The device is closed or the peer has no endpoint. */
  NoEndpoint: 22,
  /** Too many handshake jobs in the worker pool already (or the pool failed): the initiation was dropped. */
  HandshakeBusy: 23,
  /** A pool job's result no longer applied (peer removed, a newer initiation consumed meanwhile). */
  HandshakeStale: 24,
} as const;
export type WgDrop = (typeof WgDrop)[keyof typeof WgDrop];

export const WG_DROP_COUNT = 25;

export const WG_DROP_NAMES: readonly string[] = [
  'none',
  'bad-length',
  'bad-type',
  'bad-mac1',
  'cookie-sent',
  'auth-failed',
  'unknown-peer',
  'unknown-index',
  'handshake-replay',
  'handshake-flood',
  'bad-key',
  'replay',
  'keypair-expired',
  'bad-inner-packet',
  'source-not-allowed',
  'no-route',
  'staged-full',
  'staged-flushed',
  'too-big',
  'bad-cookie',
  'rate-limited',
  'table-full',
  'no-endpoint',
  'handshake-busy',
  'handshake-stale',
];

/** Drop counters (one Float64Array: incrementing allocates nothing). */
export class WgDropCounters {
  readonly c = new Float64Array(WG_DROP_COUNT);
  add(reason: number): void {
    this.c[reason]!++;
  }
  of(reason: number): number {
    return this.c[reason]!;
  }
  /** Nonzero counters by name (cold path). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let r = 1; r < WG_DROP_COUNT; r++) if (this.c[r]! > 0) out[WG_DROP_NAMES[r]!] = this.c[r]!;
    return out;
  }
}
