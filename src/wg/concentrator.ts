/**
 * A WireGuard concentrator: many peers on one UDP socket (one `WgDevice`), each peer's inner
 * traffic on a device of its own, handed to an `L3Connector`:
 *
 *                         +--> port(peer 1) --connectL3--> connector (namespace 1)
 *   bind <--> WgDevice ---+--> port(peer 2) --connectL3--> connector (namespace 2)
 *                         +--> ...
 *
 * - With a connector that gives each device its own namespace (core `Namespaces`; a slirp Stack
 *   does, NAT does), peers are isolated: the device keeps one AllowedIPs table per peer
 *   (`isolatePeers`), so two peers may both be 10.0.0.2, each reaching only its own namespace.
 * - With a shared `L3Hub`, every port joins the hub with its peer's allowed IPs as routes, so
 *   peers reach each other (and whatever else is on the hub); AllowedIPs stay one table, where a
 *   prefix belongs to one peer.
 *
 * A peer's port is made when its first handshake completes (`onHandshake`, before the first
 * packet is delivered) and released when the peer is removed (`removePeer`), or all at `close()`.
 * Unknown public keys are authorised at run time by `onUnknownPeer` (the device's hook: called
 * once the initiation authenticated); an authorised peer gets its port like any other.
 *
 * Per packet the port adds one call each way: inbound the device hands the peer's packet to
 * `peer.sink` (the handler the connector installed on the port), outbound the port's `send` is
 * `device.sendToPeer(peer, packet)`. Nothing is allocated.
 */

import type { AddrListener, Cleanup, L3Connector, L3Device, PacketHandler } from '../core/device.js';
import { L3Hub, type L3HubHandle } from '../core/l3-hub.js';
import { PktTypeError } from '../errors.js';
import { IpPrefix } from '../wire/addr.js';
import type { WgDeviceInfo, WgDeviceOptions, WgPeerConfig } from './config.js';
import { keyToBase64, toKey } from './crypto.js';
import { WgDevice } from './device.js';
import type { WgPeer } from './peer.js';

export interface WgConcentratorOptions extends Omit<WgDeviceOptions, 'isolatePeers' | 'onHandshake' | 'onPeerRemoved'> {
  /** Where each peer's inner device goes: an L3Connector (a device per peer), or an L3Hub they share. */
  inner: L3Connector | L3Hub;
  /** One AllowedIPs table per peer, so peers may share addresses (default: true, false with an L3Hub). */
  isolatePeers?: boolean;
}

/** Concentrator counters (besides the device's drops). */
export interface WgConcentratorStats {
  /** Peer ports attached now. */
  ports: number;
  /** Ports made and released since the start. */
  attached: number;
  released: number;
  /** Connector refusals (connectL3 threw or rejected): the peer's packets are dropped until its next handshake. */
  connectErrors: number;
  /** Packets from peers without a port (connector refused). */
  unrouted: number;
}

/**
 * One peer's inner device: packets from the peer come out of its handler, packets sent into it go
 * to the peer. Its address is the peer's first allowed prefix (what a connector may route or
 * NAT for). Unsafe for concurrent use (device thread only).
 */
export class WgPeerPort implements L3Device {
  readonly peer: WgPeer;
  readonly #device: WgDevice;
  #addr: IpPrefix | null;
  readonly #listeners = new Set<AddrListener>();
  #closed = false;
  /** What detaches it from the connector (null until connectL3 answered, or after release). */
  cleanup: Cleanup | null = null;
  /** Its hub port in shared-L3Hub mode (routes follow the peer's allowed IPs), else null. */
  hubPort: L3HubHandle | null = null;

  constructor(device: WgDevice, peer: WgPeer, addr: IpPrefix | null) {
    this.#device = device;
    this.peer = peer;
    this.#addr = addr;
  }

  get publicKey(): string {
    return keyToBase64(this.peer.publicKey);
  }

  get closed(): boolean {
    return this.#closed;
  }

  setHandler(handler: PacketHandler): void {
    if (!this.#closed) this.peer.sink = handler;
  }

  /** A packet from the inner network to the peer (borrowed: sealed from a copy before returning). */
  send(packet: Uint8Array): void {
    if (!this.#closed) this.#device.sendToPeer(this.peer, packet);
  }

  get addr(): IpPrefix | null {
    return this.#addr;
  }

  setAddr(addr: IpPrefix | string | null): void {
    this.#addr = addr === null ? null : IpPrefix.from(addr);
    for (const l of this.#listeners) l(this.#addr);
  }

  watchAddr(listener: AddrListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops delivery both ways (the connector's cleanup is the concentrator's to call). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.peer.sink !== null) this.peer.sink = null;
    this.#listeners.clear();
  }
}

export class WgConcentrator {
  /** The WireGuard interface (peers, keys, `show`, the bind). */
  readonly device: WgDevice;
  readonly #inner: L3Connector | L3Hub;
  readonly #ports = new Map<WgPeer, WgPeerPort>();
  /** Routes each hub port was given (shared-L3Hub mode), to withdraw them on a change. */
  readonly #hubRoutes = new Map<WgPeerPort, IpPrefix[]>();
  readonly #counters = { attached: 0, released: 0, connectErrors: 0, unrouted: 0 };
  #closed = false;

  /**
   * @throws {PktTypeError} without `inner` (or on what WgDevice refuses); {ConfigError} as WgDevice.
   */
  constructor(opts: WgConcentratorOptions) {
    if (opts === null || typeof opts !== 'object') throw new PktTypeError('WgConcentrator: expected options');
    const inner = opts.inner;
    const isHub = inner instanceof L3Hub;
    if (!isHub && (inner === null || typeof inner !== 'object' || typeof (inner as L3Connector).connectL3 !== 'function')) {
      throw new PktTypeError('WgConcentrator: inner must be an L3Connector (connectL3) or an L3Hub');
    }
    this.#inner = inner;
    const { inner: _inner, isolatePeers, ...deviceOpts } = opts;
    this.device = new WgDevice({
      ...deviceOpts,
      isolatePeers: isolatePeers ?? !isHub,
      onHandshake: (peer) => this.#attach(peer),
      onPeerRemoved: (peer) => this.#release(peer),
    });
    // Packets of a peer without a port land here (its port is set as the peer's sink).
    this.device.setHandler(() => {
      this.#counters.unrouted++;
    });
  }

  /** Adds or updates a peer (wg set); its port appears with its first handshake. */
  addPeer(cfg: WgPeerConfig): WgPeer {
    return this.device.addPeer(cfg);
  }

  /** Removes a peer and releases its port. */
  removePeer(publicKey: Uint8Array | string): boolean {
    return this.device.removePeer(publicKey);
  }

  /**
   * Replaces a peer's allowed IPs (wg set ... allowed-ips); on a shared L3Hub its port's routes
   * follow, and its port's address becomes the first prefix.
   * @throws {ConfigError} for an unknown peer; {PktTypeError} on a malformed prefix.
   */
  setAllowedIps(publicKey: Uint8Array | string, prefixes: (IpPrefix | string)[]): void {
    const parsed = prefixes.map((p) => IpPrefix.from(p));
    this.device.setAllowedIps(publicKey, parsed);
    const port = this.portOf(publicKey);
    if (port === null) return;
    const hub = port.hubPort;
    if (hub !== null) {
      for (const r of this.#hubRoutes.get(port) ?? []) hub.removeRoute(r);
      for (const r of parsed) hub.addRoute(r);
      this.#hubRoutes.set(port, parsed);
    }
    port.setAddr(parsed.length > 0 ? parsed[0]! : null);
  }

  /** The port of the peer with `publicKey`, or null (no such peer, or no handshake yet). */
  portOf(publicKey: Uint8Array | string): WgPeerPort | null {
    const peer = this.device.peer(toKey('publicKey', publicKey));
    return peer === null ? null : (this.#ports.get(peer) ?? null);
  }

  get ports(): WgPeerPort[] {
    return [...this.#ports.values()];
  }

  stats(): WgConcentratorStats {
    return { ports: this.#ports.size, ...this.#counters };
  }

  show(): WgDeviceInfo {
    return this.device.show();
  }

  #attach(peer: WgPeer): void {
    if (this.#closed || this.#ports.has(peer)) return;
    const prefixes = this.device.allowedIpsOf(peer);
    const port = new WgPeerPort(this.device, peer, prefixes.length > 0 ? prefixes[0]! : null);
    this.#ports.set(peer, port);
    this.#counters.attached++;
    const inner = this.#inner;
    let result: Cleanup | Promise<Cleanup>;
    try {
      if (inner instanceof L3Hub) {
        const h = inner.connect(port, { routeDeviceAddr: false, routes: prefixes });
        port.hubPort = h;
        this.#hubRoutes.set(port, prefixes);
        result = () => h.close();
      } else {
        result = inner.connectL3(port);
      }
    } catch {
      return this.#refused(peer, port);
    }
    if (typeof result === 'function') {
      port.cleanup = result;
      return;
    }
    result.then(
      (cleanup) => {
        if (port.closed) cleanup(); // released while the connector was busy
        else port.cleanup = cleanup;
      },
      () => this.#refused(peer, port),
    );
  }

  #refused(peer: WgPeer, port: WgPeerPort): void {
    this.#counters.connectErrors++;
    port.close();
    if (this.#ports.get(peer) === port) this.#ports.delete(peer);
  }

  #release(peer: WgPeer): void {
    const port = this.#ports.get(peer);
    if (port === undefined) return;
    this.#ports.delete(peer);
    this.#hubRoutes.delete(port);
    this.#counters.released++;
    port.close();
    const c = port.cleanup;
    port.cleanup = null;
    if (c !== null) c();
  }

  /** Releases every port, then closes the device (and its bind). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of [...this.#ports.keys()]) this.#release(peer);
    this.device.close();
  }
}
