/**
 * L3Hub: a routing hub that joins L3 devices (the seed's L3Hub), with longest-prefix match.
 *
 * Each device gets, by default, a host route for its own address (/32 or /128) and a network
 * route for its prefix, kept current through `watchAddr` when the device offers it; more routes
 * can be given explicitly (a VPN peer's allowed prefixes, say), and one device may be the default
 * route. Per packet:
 *   1. drop it (counted by WireStatus) unless it is a well-formed IPv4 or IPv6 packet;
 *   2. IPv4 limited broadcast (255.255.255.255), IPv4 multicast (224/4) and IPv6 multicast
 *      (ff00::/8) go to every port but the source;
 *   3. unicast goes to the owner of the longest matching prefix, else the default route, else is
 *      dropped (`no-route`); a route back to the source port is dropped (`loop`).
 *
 * The Go original matched the first port whose prefix contained the destination, in connection
 * order, reading each device's address per packet: two devices on one /24 could not reach each
 * other. Host routes fix that. Where two devices claim the same prefix the first claimant owns it
 * until it leaves.
 *
 * It is a hub, not a router: TTL and Hop Limit are not decremented and no ICMP errors are sent.
 * Nothing is allocated per packet.
 */

import { ClosedError } from '../errors.js';
import { IpPrefix } from '../wire/addr.js';
import { be32i } from '../wire/bytes.js';
import { Ipv4View } from '../wire/ipv4.js';
import { Ipv6View } from '../wire/ipv6.js';
import { WireStatus } from '../wire/status.js';
import { TapDirection, type Cleanup, type L3Connector, type L3Device, type PacketTap } from './device.js';
import { RouteTable } from './route-table.js';
import { DropReason, PortCounters, type PortStats } from './stats.js';

const V4_DST = 16;
const V6_DST = 24;

export interface L3HubOptions {
  /** Most prefixes in the routing table (default 65536). */
  maxRoutes?: number;
}

export interface L3ConnectOptions {
  /** Route the device's own address (host route) and prefix to it (default true). */
  routeDeviceAddr?: boolean;
  /** Further prefixes to route to this device. */
  routes?: readonly (IpPrefix | string)[];
}

export interface L3HubPortStats extends PortStats {
  port: number;
  addr: string | null;
  routes: string[];
}

export interface L3HubStats {
  ports: L3HubPortStats[];
  routes: number;
}

class L3Port {
  readonly counters = new PortCounters();
  tap: PacketTap | null = null;
  closed = false;
  /** Routes derived from the device's address (replaced when it changes). */
  autoRoutes: IpPrefix[] = [];
  /** Routes added explicitly. */
  readonly routes: IpPrefix[] = [];
  unwatch: (() => void) | null = null;
  readonly id: number;
  readonly dev: L3Device;
  constructor(id: number, dev: L3Device) {
    this.id = id;
    this.dev = dev;
  }
}

/** Returned by `L3Hub.connect`. */
export class L3HubHandle {
  private readonly hub: L3Hub;
  private readonly port: L3Port;
  constructor(hub: L3Hub, port: L3Port) {
    this.hub = hub;
    this.port = port;
  }

  get id(): number {
    return this.port.id;
  }

  /** Routes `prefix` to this device. @throws {PktError} ERR_PKT_LIMIT when the table is full. */
  addRoute(prefix: IpPrefix | string): void {
    this.hub.addPortRoute(this.port, IpPrefix.from(prefix));
  }

  /** Stops routing `prefix` to this device. */
  removeRoute(prefix: IpPrefix | string): void {
    this.hub.removePortRoute(this.port, IpPrefix.from(prefix));
  }

  /** Records this port's traffic (In: from the device into the hub; Out: to the device). */
  capture(tap: PacketTap | null): void {
    this.port.tap = tap;
  }

  stats(): PortStats {
    return this.port.counters.snapshot();
  }

  /** Detaches the device and withdraws its routes. Idempotent. */
  close(): void {
    this.hub.detach(this.port);
  }
}

export class L3Hub implements L3Connector {
  private ports: L3Port[] = [];
  private nextId = 0;
  private readonly table: RouteTable<L3Port>;
  private default4: L3Port | null = null;
  private default6: L3Port | null = null;
  private readonly v4 = new Ipv4View();
  private readonly v6 = new Ipv6View();
  private closed = false;

  constructor(opts: L3HubOptions = {}) {
    this.table = new RouteTable<L3Port>(opts.maxRoutes ?? 65536);
  }

  /**
   * Attaches a device: its packets are routed, and packets routed to it reach its `send`.
   * @throws {ClosedError} once the hub is closed; {PktError} ERR_PKT_LIMIT when routes overflow.
   */
  connect(dev: L3Device, opts: L3ConnectOptions = {}): L3HubHandle {
    if (this.closed) throw new ClosedError('L3Hub');
    const port = new L3Port(this.nextId++, dev);
    this.ports = [...this.ports, port];
    if (opts.routeDeviceAddr ?? true) {
      this.setAutoRoutes(port, dev.addr);
      if (dev.watchAddr !== undefined) port.unwatch = dev.watchAddr((addr) => this.setAutoRoutes(port, addr));
    }
    for (const r of opts.routes ?? []) this.addPortRoute(port, IpPrefix.from(r));
    dev.setHandler((packet) => this.route(port, packet));
    return new L3HubHandle(this, port);
  }

  /** L3Connector: attaches `dev` and returns the detach function. */
  connectL3(dev: L3Device): Cleanup {
    const h = this.connect(dev);
    return () => h.close();
  }

  /**
   * Sends packets that match no route to `target` (a handle, or a connected device), for IPv4
   * and IPv6 alike (or only one `family`). `null` removes the default route.
   */
  setDefaultRoute(target: L3HubHandle | L3Device | null, family?: 4 | 6): void {
    let port: L3Port | null = null;
    if (target !== null) {
      const id = target instanceof L3HubHandle ? target.id : -1;
      port = this.ports.find((p) => p.id === id || p.dev === target) ?? null;
    }
    if (family !== 6) this.default4 = port;
    if (family !== 4) this.default6 = port;
  }

  private route(src: L3Port, packet: Uint8Array): void {
    const len = packet.length;
    if (src.closed) return src.counters.drop(DropReason.Closed);
    src.counters.rx(len);
    if (src.tap !== null) src.tap.tap(packet, TapDirection.In);
    if (len < 1) return src.counters.drop(WireStatus.Truncated);
    const version = packet[0]! >>> 4;
    let dst: L3Port | null;
    if (version === 4) {
      const st = this.v4.reset(packet, 0, len).check();
      if (st !== WireStatus.Ok) return src.counters.drop(st);
      const first = packet[V4_DST]!;
      const addr = be32i(packet, V4_DST);
      if (addr === -1 || first >>> 4 === 0xe) return this.flood(src, packet);
      dst = this.table.lookupV4(addr) ?? this.default4;
    } else if (version === 6) {
      const st = this.v6.reset(packet, 0, len).check();
      if (st !== WireStatus.Ok) return src.counters.drop(st);
      if (packet[V6_DST] === 0xff) return this.flood(src, packet);
      dst = this.table.lookupV6(packet, V6_DST) ?? this.default6;
    } else {
      return src.counters.drop(WireStatus.BadVersion);
    }
    if (dst === null) return src.counters.drop(DropReason.NoRoute);
    if (dst === src) return src.counters.drop(DropReason.Loop);
    this.deliver(dst, packet);
  }

  private flood(src: L3Port, packet: Uint8Array): void {
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p !== src && !p.closed) this.deliver(p, packet);
    }
  }

  private deliver(port: L3Port, packet: Uint8Array): void {
    port.counters.tx(packet.length);
    if (port.tap !== null) port.tap.tap(packet, TapDirection.Out);
    try {
      port.dev.send(packet);
    } catch {
      port.counters.drop(DropReason.SendFailed);
    }
  }

  private setAutoRoutes(port: L3Port, addr: IpPrefix | null): void {
    // Withdraw the old address's routes, unless also given explicitly.
    for (const r of port.autoRoutes) if (!port.routes.some((x) => x.sameNetwork(r))) this.table.remove(r, port);
    port.autoRoutes = [];
    if (addr === null || port.closed) return;
    const host = new IpPrefix(addr.addr, addr.family === 4 ? 32 : 128);
    for (const r of addr.bits === host.bits ? [host] : [host, addr]) {
      this.table.add(r, port);
      port.autoRoutes.push(r);
    }
  }

  /** @internal */
  addPortRoute(port: L3Port, prefix: IpPrefix): void {
    if (port.closed) throw new ClosedError('L3Hub port');
    this.table.add(prefix, port);
    if (!port.routes.some((r) => r.sameNetwork(prefix))) port.routes.push(prefix);
  }

  /** @internal */
  removePortRoute(port: L3Port, prefix: IpPrefix): void {
    const i = port.routes.findIndex((r) => r.sameNetwork(prefix));
    if (i === -1) return;
    port.routes.splice(i, 1);
    // The prefix may also be one of the device's own (auto) routes: keep it then.
    if (!port.autoRoutes.some((r) => r.sameNetwork(prefix))) this.table.remove(prefix, port);
  }

  /** @internal */
  detach(port: L3Port): void {
    if (port.closed) return;
    port.closed = true;
    port.unwatch?.();
    port.unwatch = null;
    this.table.removeOwner(port);
    port.autoRoutes = [];
    if (this.default4 === port) this.default4 = null;
    if (this.default6 === port) this.default6 = null;
    this.ports = this.ports.filter((p) => p !== port);
  }

  /** The device the hub would route IPv4 `dst` to (cold path: tests and diagnostics). */
  lookup(dst: IpPrefix | string): L3Device | null {
    const a = IpPrefix.from(dst).addr;
    const p = a.family === 4 ? (this.table.lookupV4(a.v4) ?? this.default4) : (this.table.lookupV6(a.bytes, 0) ?? this.default6);
    return p?.dev ?? null;
  }

  stats(): L3HubStats {
    const routes = this.table.routes();
    return {
      ports: this.ports.map((p) => ({
        port: p.id,
        addr: p.dev.addr?.toString() ?? null,
        routes: routes.filter((r) => r.owners[0] === p).map((r) => r.prefix.masked().toString()),
        ...p.counters.snapshot(),
      })),
      routes: this.table.size,
    };
  }

  /** Detaches every device (devices stay open). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.ports) this.detach(p);
  }
}
