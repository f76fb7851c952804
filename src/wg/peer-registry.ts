/**
 * A WgDevice's peers as configured (cold path): the peer table (public key -> peer), the
 * AllowedIPs table(s), peer isolation and the peer limit, with the parsing and checks of
 * `WgPeerConfig` (wg set ... peer) in front of them.
 *
 * Ownership: the registry is the only writer of these tables. The device reads two of them
 * directly on its packet paths (`allowed` for the destination lookup and the source check,
 * `peers.find` for initiations), holding the same objects in fields of its own so that no call
 * or extra load is added per packet; both fields are readonly here, so the aliases never go
 * stale. Everything that needs the device's private state (receiver indices, handshakes in
 * flight, sending) stays in device.ts; peers reach it through their `PeerHost`.
 *
 *   WgDevice.addPeer/removePeer/setAllowedIps/show --> PeerRegistry --writes--> PeerTable, AllowedIps
 *   WgDevice.send             --#allowed.lookupDestination------------------------> AllowedIps
 *   WgDevice #afterOpen       --(peer.allowed ?? #allowed).lookupSource-----------> AllowedIps
 *   WgDevice #receiveInitiation, offload --#peers.find------------------------------> PeerTable
 *
 * With `isolate` each peer has its own AllowedIPs table (`peer.allowed`, bounded by
 * PEER_PREFIXES_MAX) and the shared one stays empty, so `send` finds no route by destination.
 * Unsafe for concurrent use, as the device is.
 */

import { ConfigError, PktError, intInRange } from '../errors.js';
import { IpPrefix } from '../wire/addr.js';
import { AllowedIps } from './allowed-ips.js';
import { formatEndpoint, parseEndpoint } from './bind.js';
import { peerInfo, type WgDeviceOptions, type WgPeerConfig, type WgPeerInfo } from './config.js';
import { TAG_LEN, TRANSPORT_HEADER_LEN, TRANSPORT_MAX_LEN } from './constants.js';
import { toKey } from './crypto.js';
import { Handshake, type StaticIdentity } from './noise.js';
import { WgPeer, type PeerHost } from './peer.js';
import { PeerTable } from './tables.js';

/** Bound on one peer's prefixes when peers are isolated (each has its own table). */
const PEER_PREFIXES_MAX = 4096;

export interface PeerRegistryOptions {
  readonly identity: StaticIdentity;
  /** Handed to every new peer (its timers and sends go through the device). */
  readonly host: PeerHost;
  readonly maxPeers: number;
  readonly isolate: boolean;
  /** WgDeviceOptions.onUnknownPeer: run-time authorisation of unknown keys, or null (none). */
  readonly onUnknown: WgDeviceOptions['onUnknownPeer'];
  /** Called after a peer was removed (removePeer). Must not throw. */
  readonly onRemoved: ((peer: WgPeer) => void) | null;
}

export class PeerRegistry {
  /** Public key -> peer. Read-only outside this class. */
  readonly peers = new PeerTable();
  /** The shared AllowedIPs table (empty when isolating). Read-only outside this class. */
  readonly allowed = new AllowedIps<WgPeer>();
  readonly maxPeers: number;
  readonly #identity: StaticIdentity;
  readonly #host: PeerHost;
  readonly #isolate: boolean;
  readonly #onUnknown: WgDeviceOptions['onUnknownPeer'];
  readonly #onRemoved: ((peer: WgPeer) => void) | null;

  constructor(opts: PeerRegistryOptions) {
    this.maxPeers = opts.maxPeers;
    this.#identity = opts.identity;
    this.#host = opts.host;
    this.#isolate = opts.isolate;
    this.#onUnknown = opts.onUnknown;
    this.#onRemoved = opts.onRemoved;
  }

  get size(): number {
    return this.peers.size;
  }

  /** Whether a new peer would pass `maxPeers`. */
  get full(): boolean {
    return this.peers.size >= this.maxPeers;
  }

  /** Whether an initiation from an unknown key is worth consuming: there is a hook to ask and room. */
  get mayEnrol(): boolean {
    return this.#onUnknown !== null && this.peers.size < this.maxPeers;
  }

  /**
   * The peer with `publicKey`, or null.
   * @throws {PktTypeError} on a malformed key.
   */
  find(publicKey: Uint8Array | string): WgPeer | null {
    return this.peers.find(toKey('publicKey', publicKey));
  }

  /** The peers in the order they were added (a copy). */
  list(): WgPeer[] {
    return this.peers.list.slice();
  }

  /** The AllowedIPs table that holds `peer`'s prefixes (device.ts inlines this on the source check). */
  tableOf(peer: WgPeer): AllowedIps<WgPeer> {
    return peer.allowed ?? this.allowed;
  }

  /** `peer`'s allowed prefixes. */
  prefixesOf(peer: WgPeer): IpPrefix[] {
    return this.tableOf(peer).prefixesOf(peer);
  }

  /** Every peer's `wg show` record, in the order they were added. */
  infos(): WgPeerInfo[] {
    return this.peers.list.map((p) => peerInfo(p, this.prefixesOf(p)));
  }

  /**
   * Adds a peer, or updates the one with that public key (wg set ... peer). Everything is
   * parsed and checked before anything changes: a bad field leaves no half peer.
   * @throws {PktTypeError} on a malformed key, endpoint or prefix; {PktError} ERR_PKT_LIMIT past
   * maxPeers; {ConfigError} for our own public key.
   */
  add(cfg: WgPeerConfig): WgPeer {
    const pub = toKey('publicKey', cfg.publicKey);
    const psk = cfg.presharedKey === undefined || cfg.presharedKey === null ? null : toKey('presharedKey', cfg.presharedKey);
    const endpoint = cfg.endpoint === undefined || cfg.endpoint === null ? null : parseEndpoint(cfg.endpoint);
    const prefixes = (cfg.allowedIps ?? []).map((p) => IpPrefix.from(p));
    const keepalive = cfg.persistentKeepalive === undefined ? -1 : intInRange('persistentKeepalive', cfg.persistentKeepalive, 0, 65535);
    let peer = this.peers.find(pub);
    if (peer === null) {
      if (this.full) throw new PktError('ERR_PKT_LIMIT', `WgDevice: at most ${this.maxPeers} peers`);
      const own = this.#identity.publicKey;
      let same = 0;
      for (let i = 0; i < 32; i++) same |= pub[i]! ^ own[i]!;
      if (same === 0) throw new ConfigError('WgDevice: a peer cannot have our own public key');
      peer = this.#create(pub, new Handshake(this.#identity, pub, psk));
    } else if (psk !== null) {
      peer.handshake.psk = psk;
    }
    if (endpoint !== null) peer.endpoint.set(endpoint);
    const table = this.tableOf(peer);
    for (const p of prefixes) table.insert(p, peer);
    if (keepalive >= 0 && peer.setPersistentKeepalive(keepalive)) peer.sendKeepalive();
    return peer;
  }

  /**
   * onUnknownPeer, asked once the initiation `hs` from an unknown key authenticated (from the
   * endpoint at from[fromOff..]): the peer made around `hs`, or null when refused. Only when
   * `mayEnrol`. A throwing hook, a malformed answer or an overflowing AllowedIPs table all
   * refuse: this runs on a datagram's path, so it never throws.
   */
  enrol(hs: Handshake, from: Int32Array, fromOff: number): WgPeer | null {
    let cfg: Omit<WgPeerConfig, 'publicKey' | 'endpoint'> | null;
    let prefixes: IpPrefix[];
    try {
      cfg = this.#onUnknown!(Uint8Array.from(hs.remoteStatic), formatEndpoint(from, fromOff));
      if (cfg === null || cfg === undefined) return null;
      prefixes = (cfg.allowedIps ?? []).map((p) => IpPrefix.from(p));
      if (cfg.presharedKey !== undefined && cfg.presharedKey !== null) hs.psk = toKey('presharedKey', cfg.presharedKey);
    } catch {
      return null;
    }
    const peer = this.#create(hs.remoteStatic, hs);
    try {
      const table = this.tableOf(peer);
      for (const p of prefixes) table.insert(p, peer);
    } catch {
      this.remove(peer);
      return null;
    }
    const ka = cfg.persistentKeepalive ?? 0;
    if (Number.isInteger(ka) && ka > 0 && ka <= 65535) peer.setPersistentKeepalive(ka);
    return peer;
  }

  /** Removes `peer` (wg set ... peer KEY remove): its keys, indices, routes and timers go. */
  remove(peer: WgPeer): void {
    peer.removed = true;
    peer.stopTimers();
    peer.zeroAll();
    this.tableOf(peer).removeOwner(peer);
    this.peers.remove(peer);
    peer.sink = null;
    if (this.#onRemoved !== null) this.#onRemoved(peer);
  }

  /**
   * Replaces `peer`'s allowed IPs (replace_allowed_ips=true).
   * @throws {PktTypeError} on a malformed prefix; {PktError} ERR_PKT_LIMIT when a table is full.
   */
  setAllowedIps(peer: WgPeer, prefixes: (IpPrefix | string)[]): void {
    const table = this.tableOf(peer);
    table.removeOwner(peer);
    for (const p of prefixes) table.insert(p, peer);
  }

  /** The device closed: every peer stops and forgets its keys (the tables stay, for `show`). */
  stopAll(): void {
    for (const p of this.peers.list) {
      p.removed = true;
      p.stopTimers();
      p.zeroAll();
    }
  }

  #create(pub: Uint8Array, hs: Handshake): WgPeer {
    const peer = new WgPeer(this.#host, pub, hs, TRANSPORT_MAX_LEN - TRANSPORT_HEADER_LEN - TAG_LEN);
    if (this.#isolate) peer.allowed = new AllowedIps<WgPeer>(PEER_PREFIXES_MAX);
    this.peers.add(peer);
    return peer;
  }
}
