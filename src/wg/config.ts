/**
 * WgDevice configuration and `wg show` shapes (cold path: configuration and display only).
 */

import type { Clock } from '../core/clock.js';
import type { CreateAeadOptions } from '../native/aead.js';
import type { IpPrefix } from '../wire/addr.js';
import { formatEndpoint, type WgBind } from './bind.js';
import { keyToBase64 } from './crypto.js';
import type { HandshakeOffloadOptions } from './handshake-offload.js';
import { PeerStat, type WgPeer } from './peer.js';

export interface WgPeerConfig {
  /** The peer's public key: 32 bytes, base64 (wg) or hex (UAPI). */
  publicKey: Uint8Array | string;
  presharedKey?: Uint8Array | string | null;
  /** `host:port` or `[v6]:port`. */
  endpoint?: string | null;
  allowedIps?: (IpPrefix | string)[];
  /** Seconds; 0 or absent = off. */
  persistentKeepalive?: number;
}

export interface WgDeviceOptions {
  /** Our private key: 32 bytes, base64 or hex. */
  privateKey: Uint8Array | string;
  /** Where datagrams go and come from (see bind.ts). */
  bind: WgBind;
  /** Informational (wg show); the bind owns the socket. */
  listenPort?: number;
  peers?: WgPeerConfig[];
  /** Tunnel MTU for padding (default 1420). */
  mtu?: number;
  /** Monotonic time and timers (default: the system clock). */
  clock?: Clock;
  /** Unix time in ms for TAI64N and `latest handshake` (default Date.now). */
  wallClock?: () => number;
  /** Fills its argument with random bytes (default: crypto random). Ephemeral keys, indices, cookies, jitter. */
  random?: (b: Uint8Array) => void;
  /** Transport AEAD backend (default: the addon when built). */
  aead?: CreateAeadOptions;
  /** Bound on peers (default 65536). */
  maxPeers?: number;
  /** Whether handshakes are under load now (default: more than 128 handshake messages in the last second, sticky for 1 s). */
  underLoad?: (nowMs: number) => boolean;
  /** The inner address (L3Device `addr`). */
  addr?: IpPrefix | string | null;
  /**
   * Run-time authorisation of unknown public keys (a concentrator's enrolment hook). Called only
   * after an initiation from `publicKey` fully authenticated (static key, TAI64N under the
   * static-static secret) and passed the replay and flood rules, with the UDP source as text.
   * Return the peer's settings to add it (and answer), or null to drop the initiation. Must not
   * throw (a throw counts as a refusal). The PSK, when given, is used from message 2 on, which
   * is where IKpsk2 mixes it in.
   */
  onUnknownPeer?: ((publicKey: Uint8Array, endpoint: string) => Omit<WgPeerConfig, 'publicKey' | 'endpoint'> | null) | null;
  /**
   * Each peer gets its own AllowedIPs table (default false: one table, a prefix belongs to one
   * peer). Peers may then share inner addresses; the inbound source check uses the peer's own
   * table, and `send` cannot pick a peer by destination (NoRoute): use `sendToPeer`, as the
   * concentrator's per-peer devices do.
   */
  isolatePeers?: boolean;
  /** Called on the device's thread when a handshake with `peer` completes (before its first packet is delivered). Must not throw. */
  onHandshake?: ((peer: WgPeer) => void) | null;
  /** Called when a peer is removed (removePeer). Must not throw. */
  onPeerRemoved?: ((peer: WgPeer) => void) | null;
  /** Handshake crypto on a worker pool (handshake-offload.ts): `{ runner: dp.tasks }`. */
  handshakeOffload?: HandshakeOffloadOptions | null;
}

/** What `wg show` prints for a peer. */
export interface WgPeerInfo {
  publicKey: string;
  presharedKey: boolean;
  endpoint: string | null;
  allowedIps: string[];
  /** Unix seconds of the latest handshake, 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number;
}

export interface WgDeviceInfo {
  publicKey: string;
  listenPort: number;
  peers: WgPeerInfo[];
  drops: Record<string, number>;
}

/** A peer's `wg show` record (cold path). */
export function peerInfo(p: WgPeer, allowed: IpPrefix[]): WgPeerInfo {
  return {
    publicKey: keyToBase64(p.publicKey),
    presharedKey: p.handshake.psk.some((b) => b !== 0),
    endpoint: p.endpoint[0] === 0 ? null : formatEndpoint(p.endpoint),
    allowedIps: allowed.map(String),
    latestHandshake: Math.floor(p.lastHandshakeWallMs / 1000),
    rxBytes: p.stats[PeerStat.RxBytes]!,
    txBytes: p.stats[PeerStat.TxBytes]!,
    persistentKeepalive: p.persistentKeepaliveMs / 1000,
  };
}
