/**
 * Configuration of a kernel interface over rtnetlink (the addon's netlink* functions): link up
 * and down, MTU, MAC, addresses, routes, and moving the interface into another network
 * namespace (`ip link set … netns …`, IFLA_NET_NS_FD / IFLA_NET_NS_PID). Cold path: every call
 * is one synchronous request and its acknowledgement (tens of microseconds).
 *
 * An `Iface` holds a netlink socket opened in the namespace the interface lives in, so that it
 * can configure an interface it moved out of the process's own namespace (the socket is made on
 * a short-lived native thread that joins the namespace: the process stays where it is).
 */

import { PktError, PktRangeError, PktTypeError, intInRange } from '../errors.js';
import { IpAddr, IpPrefix, formatMac, toMac } from '../wire/addr.js';
import type { TuntapNative } from './native.js';
import type { VnetConfig } from './vnet.js';

/**
 * A network namespace: a name under /run/netns (`ip netns add NAME`), a path to a namespace
 * file (`/proc/PID/ns/net`, a bind mount), an open descriptor of one, or a process whose
 * namespace it is.
 */
export type NetnsRef = string | { readonly fd: number } | { readonly pid: number };

/** A route through an interface: `dst` a prefix (`0.0.0.0/0`, `fd00::/64`), `via` a router. */
export interface RouteSpec {
  dst: string | IpPrefix;
  via?: string | IpAddr;
  metric?: number;
}

/** What the kernel says of an interface. */
export interface LinkState {
  index: number;
  name: string;
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP): a TUN/TAP has it while a descriptor is attached. */
  lowerUp: boolean;
  /** The MAC address (a TAP's), or null (a TUN has none). */
  mac: number | null;
}

const IFF_UP = 0x1;
const IFF_LOWER_UP = 0x1_0000;
const IFNAMSIZ = 16;
/** /run/netns is where `ip netns add` mounts named namespaces. */
const NETNS_RUN_DIR = '/run/netns/';

/**
 * Checks an interface name as the kernel does (`dev_valid_name`); '' lets the kernel choose.
 * @throws {PktTypeError} when it is not a valid name.
 */
export function checkIfName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw new PktTypeError(`${what}: expected the interface name as a string, got ${typeof name}`);
  const bytes = Buffer.byteLength(name);
  if (bytes >= IFNAMSIZ) throw new PktTypeError(`${what}: interface name ${JSON.stringify(name)} is ${bytes} bytes long, at most ${IFNAMSIZ - 1} allowed`);
  if (name === '.' || name === '..' || /[/:\s\0]/.test(name)) throw new PktTypeError(`${what}: interface name ${JSON.stringify(name)} is not allowed (no '/', ':', spaces, '.' or '..')`);
  return name;
}

/**
 * The namespace file of `ns`.
 * @throws {PktTypeError} on anything that is not a NetnsRef.
 */
export function netnsPath(ns: NetnsRef): string {
  if (typeof ns === 'string') {
    if (ns.includes('/')) {
      if (!ns.startsWith('/')) throw new PktTypeError(`tuntap: a network namespace path must be an absolute path, got ${JSON.stringify(ns)}`);
      return ns;
    }
    if (ns === '' || ns === '.' || ns === '..' || !/^[\w.-]+$/.test(ns)) throw new PktTypeError(`tuntap: invalid network namespace name ${JSON.stringify(ns)}`);
    return NETNS_RUN_DIR + ns;
  }
  if (ns !== null && typeof ns === 'object') {
    if ('fd' in ns) return `/proc/self/fd/${intInRange('tuntap: netns.fd', ns.fd, 0, 2 ** 31 - 1)}`;
    if ('pid' in ns) return `/proc/${intInRange('tuntap: netns.pid', ns.pid, 1, 2 ** 31 - 1)}/ns/net`;
  }
  throw new PktTypeError('tuntap: expected a network namespace as a name, a path, { fd } or { pid }');
}

/** Wraps a native failure in a PktError (ERR_PKT_IO) naming the operation. */
export function ioError(what: string, err: unknown): PktError {
  const msg = err instanceof Error ? err.message : String(err);
  return new PktError('ERR_PKT_IO', `tuntap: ${what}: ${msg}`, { cause: err });
}

function parseRoute(r: RouteSpec | string): { dst: IpPrefix; via: IpAddr | null; metric: number | undefined } {
  const spec: RouteSpec = typeof r === 'string' ? { dst: r } : r;
  if (spec === null || typeof spec !== 'object') throw new PktTypeError('tuntap: expected a route as a prefix or { dst, via?, metric? }');
  const dst = IpPrefix.from(spec.dst).masked();
  const via = spec.via === undefined ? null : IpAddr.from(spec.via);
  if (via !== null && via.family !== dst.family) throw new PktTypeError(`tuntap: route ${dst.toString()} via ${via.toString()} mixes IPv4 and IPv6`);
  const metric = spec.metric === undefined ? undefined : intInRange('tuntap: route metric', spec.metric, 0, 0xffff_ffff);
  return { dst, via, metric };
}

/** Checks an MTU: 68 (RFC 791's minimum) to 65535. */
export function checkMtu(mtu: number, what: string): number {
  return intInRange(`${what}: mtu`, mtu, 68, 65535);
}

/** One interface, configured over a netlink socket in its namespace. Close it to release the socket. */
export class Iface {
  private readonly n: TuntapNative;
  private nl: number;
  private closed = false;
  /** The interface's name (the kernel's choice when none was asked for). */
  readonly name: string;
  /** Its index in its namespace (moving it may change it). */
  index: number;
  /** The namespace file it lives in, or null for the process's own namespace. */
  netns: string | null;

  /** @throws {PktError} ERR_PKT_IO when the interface is not found. */
  constructor(n: TuntapNative, name: string, netns: string | null) {
    this.n = n;
    this.name = name;
    this.netns = netns;
    this.nl = this.open(netns);
    try {
      this.index = this.lookup().index;
    } catch (err) {
      n.fdClose(this.nl);
      throw err;
    }
  }

  private open(netns: string | null): number {
    try {
      return this.n.netlinkOpen(netns);
    } catch (err) {
      throw ioError(netns === null ? 'netlink socket' : `netlink socket in ${netns}`, err);
    }
  }

  private live(what: string): number {
    if (this.closed) throw new PktError('ERR_PKT_CLOSED', `tuntap: ${what}: ${this.name} is closed`);
    return this.nl;
  }

  private lookup(): { index: number; name: string; mtu: number; flags: number; mac: number[] } {
    try {
      return this.n.netlinkLinkGet(this.live('info'), this.name);
    } catch (err) {
      if (err instanceof PktError) throw err;
      throw ioError(`look up ${this.name}${this.netns === null ? '' : ` in ${this.netns}`}`, err);
    }
  }

  /** Asks the kernel for the interface's state. */
  info(): LinkState {
    const l = this.lookup();
    this.index = l.index;
    return {
      index: l.index,
      name: l.name,
      mtu: l.mtu,
      up: (l.flags & IFF_UP) !== 0,
      lowerUp: (l.flags & IFF_LOWER_UP) !== 0,
      mac: l.mac.length === 6 ? l.mac.reduce((m, b) => m * 256 + b, 0) : null,
    };
  }

  private set(what: string, set: Parameters<TuntapNative['netlinkLinkSet']>[2]): void {
    try {
      this.n.netlinkLinkSet(this.live(what), this.index, set);
    } catch (err) {
      throw ioError(`${what} (${this.name})`, err);
    }
  }

  /** `ip link set NAME up|down`. */
  setUp(up: boolean): void {
    if (typeof up !== 'boolean') throw new PktTypeError(`tuntap: setUp expects a boolean, got ${typeof up}`);
    this.set(up ? 'link up' : 'link down', { up });
  }

  /** `ip link set NAME mtu MTU`. */
  setMtu(mtu: number): void {
    this.set('set mtu', { mtu: checkMtu(mtu, 'tuntap.setMtu') });
  }

  /** `ip link set NAME address MAC` (TAP). */
  setMac(mac: number | string): void {
    const m = toMac(mac);
    const bytes: number[] = [];
    for (let i = 0; i < 6; i++) bytes.push(Math.floor(m / 2 ** (8 * (5 - i))) % 256);
    this.set(`set address ${formatMac(m)}`, { mac: bytes });
  }

  /** `ip link set NAME txqueuelen N`: how many packets the kernel queues for the reader. */
  setTxQueueLen(n: number): void {
    this.set('set txqueuelen', { txqueuelen: intInRange('tuntap.setTxQueueLen', n, 0, 0xffff_ffff) });
  }

  /**
   * `ip addr add PREFIX dev NAME`. IPv6 addresses are added `nodad` (usable at once) unless
   * `opts.dad` is true.
   */
  addAddr(prefix: IpPrefix | string, opts: { dad?: boolean } = {}): void {
    this.addr(true, IpPrefix.from(prefix), opts.dad !== true);
  }

  /** `ip addr del PREFIX dev NAME`. */
  delAddr(prefix: IpPrefix | string): void {
    this.addr(false, IpPrefix.from(prefix), false);
  }

  private addr(add: boolean, p: IpPrefix, nodad: boolean): void {
    try {
      this.n.netlinkAddr(this.live('address'), add, this.index, [...p.addr.bytes], p.bits, nodad);
    } catch (err) {
      if (err instanceof PktError) throw err;
      throw ioError(`${add ? 'add' : 'delete'} address ${p.toString()} (${this.name})`, err);
    }
  }

  /** `ip route add DST [via GW] dev NAME [metric M]` (a bare prefix string is on-link). */
  addRoute(route: RouteSpec | string): void {
    this.route(true, route);
  }

  /** `ip route del …`, the same route. */
  delRoute(route: RouteSpec | string): void {
    this.route(false, route);
  }

  private route(add: boolean, route: RouteSpec | string): void {
    const r = parseRoute(route);
    const what = `${add ? 'add' : 'delete'} route ${r.dst.toString()}${r.via === null ? '' : ` via ${r.via.toString()}`} (${this.name})`;
    try {
      this.n.netlinkRoute(this.live('route'), add, this.index, {
        dst: [...r.dst.addr.bytes],
        prefixLen: r.dst.bits,
        ...(r.via === null ? {} : { gateway: [...r.via.bytes] }),
        ...(r.metric === undefined ? {} : { metric: r.metric }),
      });
    } catch (err) {
      if (err instanceof PktError) throw err;
      throw ioError(what, err);
    }
  }

  /**
   * `ip link set NAME netns NS`: moves the interface into another namespace (it goes down there:
   * bring it up again after configuring). Its descriptors keep working. Later calls configure
   * it in its new namespace. A namespace given as { fd } or { pid } is sent to the kernel as
   * such (IFLA_NET_NS_FD / IFLA_NET_NS_PID).
   */
  moveTo(ns: NetnsRef): void {
    const path = netnsPath(ns);
    const nextNl = this.open(path); // first, so that a bad namespace changes nothing
    try {
      if (typeof ns === 'object' && 'fd' in ns) this.set(`move to netns fd ${ns.fd}`, { netnsFd: ns.fd });
      else if (typeof ns === 'object' && 'pid' in ns) this.set(`move to the netns of pid ${ns.pid}`, { netnsPid: ns.pid });
      else this.set(`move to netns ${path}`, { netnsPath: path });
    } catch (err) {
      this.n.fdClose(nextNl);
      throw err;
    }
    this.n.fdClose(this.nl);
    this.nl = nextNl;
    this.netns = path;
    this.index = this.lookup().index;
  }

  /** Releases the netlink socket. Idempotent. The interface itself stays (see the devices). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.n.fdClose(this.nl);
    this.nl = -1;
  }
}

/** Options shared by everything that opens a TUN or TAP. */
export interface InterfaceOptions {
  /** The interface name (at most 15 bytes). Default: the kernel picks `tunN` / `tapN`. */
  name?: string;
  /** IFF_MULTI_QUEUE: one descriptor per queue (`queues`). Default false. */
  multiQueue?: boolean;
  /** Queues (descriptors) to open: more than one needs `multiQueue`. Default 1. */
  queues?: number;
  /** The MTU to set. Default: the kernel's (1500). */
  mtu?: number;
  /** Addresses to add (`10.0.3.1/24`, `fd00:3::1/64`; IPv6 ones `nodad`). */
  addrs?: (string | IpPrefix)[];
  /** Routes to add through the interface, once it is up (IPv4 routes need the link up). */
  routes?: (string | RouteSpec)[];
  /** Bring the link up (after the addresses, before the routes). Default true. */
  up?: boolean;
  /**
   * Move the interface into this network namespace right after creating it (the descriptors
   * stay in this process); the rest of the configuration happens there.
   */
  netns?: NetnsRef;
  /** TAP only: the interface's MAC address. Default: the kernel's random one. */
  mac?: number | string;
  /** txqueuelen: how many packets the kernel queues for the reader (default 1000 for TUN/TAP). */
  txQueueLen?: number;
}

const OPTION_KEYS = new Set(['name', 'multiQueue', 'queues', 'mtu', 'addrs', 'routes', 'up', 'netns', 'mac', 'txQueueLen']);

/** Checked interface options with defaults. */
export interface InterfaceConfig {
  name: string;
  multiQueue: boolean;
  queues: number;
  mtu: number | null;
  addrs: IpPrefix[];
  routes: (string | RouteSpec)[];
  up: boolean;
  netns: NetnsRef | null;
  mac: number | null;
  txQueueLen: number | null;
}

/**
 * Checks the interface options (others in `extraKeys` are the caller's).
 * @throws {PktTypeError|PktRangeError} on a bad option.
 */
export function checkInterfaceOptions(what: string, opts: InterfaceOptions, tap: boolean, extraKeys: readonly string[] = []): InterfaceConfig {
  if (opts === null || typeof opts !== 'object') throw new PktTypeError(`${what}: expected options to be an object`);
  for (const k of Object.keys(opts)) {
    if (!OPTION_KEYS.has(k) && !extraKeys.includes(k)) throw new PktTypeError(`${what}: unknown option ${JSON.stringify(k)}`);
  }
  const name = opts.name === undefined ? '' : checkIfName(opts.name, what);
  const multiQueue = opts.multiQueue ?? false;
  if (typeof multiQueue !== 'boolean') throw new PktTypeError(`${what}: multiQueue must be a boolean`);
  const queues = intInRange(`${what}: queues`, opts.queues ?? 1, 1, 256);
  if (queues > 1 && !multiQueue) throw new PktRangeError(`${what}: ${queues} queues need multiQueue: true`);
  const mtu = opts.mtu === undefined ? null : checkMtu(opts.mtu, what);
  if (opts.addrs !== undefined && !Array.isArray(opts.addrs)) throw new PktTypeError(`${what}: addrs must be an array of prefixes`);
  const addrs = (opts.addrs ?? []).map((a) => IpPrefix.from(a));
  if (opts.routes !== undefined && !Array.isArray(opts.routes)) throw new PktTypeError(`${what}: routes must be an array`);
  const routes = opts.routes ?? [];
  for (const r of routes) parseRoute(r);
  const up = opts.up ?? true;
  if (typeof up !== 'boolean') throw new PktTypeError(`${what}: up must be a boolean`);
  const netns = opts.netns ?? null;
  if (netns !== null) netnsPath(netns);
  if (opts.mac !== undefined && !tap) throw new PktTypeError(`${what}: mac is for TAP devices (a TUN has no MAC address)`);
  const mac = opts.mac === undefined ? null : toMac(opts.mac);
  const txQueueLen = opts.txQueueLen === undefined ? null : intInRange(`${what}: txQueueLen`, opts.txQueueLen, 0, 0xffff_ffff);
  return { name, multiQueue, queues, mtu, addrs, routes, up, netns, mac, txQueueLen };
}

/** An opened device: its interface (configured), its descriptors (one per queue), and the offloads granted (vnet header). */
export interface OpenedInterface {
  iface: Iface;
  fds: number[];
  offloads: number;
}

/**
 * Creates (`attach` false) or attaches to (`attach` true) a TUN or TAP device (with the
 * virtio-net header and offloads of `vnet`, if given), moves it into
 * `cfg.netns` if asked, and configures it: MAC, MTU, txqueuelen, addresses, link
 * state, then routes. On any failure everything opened is released before the error is thrown.
 * @throws {PktError} ERR_PKT_IO when the kernel refuses a step (the message says which).
 */
export function openInterface(n: TuntapNative, cfg: InterfaceConfig, tap: boolean, attach: boolean, attachNetns: NetnsRef | null = null, vnet: VnetConfig | null = null): OpenedInterface {
  let opened: { name: string; fds: number[]; offloads: number };
  const where = attachNetns === null ? null : netnsPath(attachNetns);
  try {
    opened = n.tuntapOpen({
      name: cfg.name,
      tap,
      queues: cfg.queues,
      multiQueue: cfg.multiQueue,
      create: !attach,
      ...(where === null ? {} : { netns: where }),
      ...(vnet === null ? {} : { vnetHdrLen: vnet.headerLen, offloads: vnet.offloads }),
    });
  } catch (err) {
    throw ioError(attach ? `attach to ${cfg.name}` : `create ${tap ? 'TAP' : 'TUN'} ${cfg.name || '(any name)'}`, err);
  }
  let iface: Iface | null = null;
  try {
    iface = new Iface(n, opened.name, where);
    if (cfg.netns !== null) iface.moveTo(cfg.netns);
    if (cfg.mac !== null) iface.setMac(cfg.mac);
    if (cfg.mtu !== null) iface.setMtu(cfg.mtu);
    if (cfg.txQueueLen !== null) iface.setTxQueueLen(cfg.txQueueLen);
    for (const a of cfg.addrs) iface.addAddr(a);
    iface.setUp(cfg.up);
    // IPv4 refuses a route through a link that is down ("Device for nexthop is not up").
    for (const r of cfg.routes) iface.addRoute(r);
    return { iface, fds: opened.fds, offloads: opened.offloads };
  } catch (err) {
    iface?.close();
    for (const fd of opened.fds) n.fdClose(fd);
    throw err;
  }
}
