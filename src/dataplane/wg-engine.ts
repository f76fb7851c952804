/**
 * WireGuard as a dataplane engine kind (`wg`, layer 3): a plugin module for `Dataplane`'s
 * `modules`, so that a WireGuard interface runs in a port worker with its UDP socket opened
 * there and its inner side a link end (ring, zero-copy or direct):
 *
 *   const dp = new Dataplane({ modules: [WG_ENGINE_MODULE] });
 *   const wg = await dp.create({ kind: 'wg', options: { privateKey, listen: '0.0.0.0:51820', peers } });
 *   await dp.link(wg, hub, { addr: { b: '10.0.2.1/24' } });   // what is behind the tunnel
 *
 *   port worker:  link end --send--> WgDevice --BatchedUdpBind--> UdpSocket (sendmmsg, GSO)
 *                 link end <-handler- WgDevice <-receiveBatch---- UdpSocket (recvmmsg)
 *
 * The outer side is a batched UDP socket (src/udp, the addon's recvmmsg/sendmmsg) when the addon
 * is built, node:dgram otherwise (`udp: 'dgram'` forces it). The socket is waited on with the
 * addon's `waitFdsAsync` (a libuv pool thread waits while the worker's event loop runs its rings),
 * then drained in batches of up to 16 recvmmsg calls per wake, each batch through
 * `WgDevice.receiveBatch` (runs of one keypair opened with one AEAD call, in place in the socket's
 * rx area). Sends are queued into the socket's tx entries and leave in one sendmmsg at the end of
 * the synchronous run, or when the entries fill. Transport crypto is the addon's (`aead: 'node'`
 * forces node:crypto).
 *
 * With `nat`, the engine is a VPN concentrator on its own: a `WgConcentrator` whose peers each
 * get an isolated namespace of a slirp `Stack` built in the same worker (their traffic leaves
 * through the worker's real sockets, and peers may share inner addresses), so it takes no inner
 * link. `acceptUnknown` (nat only) authorises initiators that are not configured peers, once their
 * handshake authenticated: any key, or only `keys` (an allow-list the `authorize` and `revoke`
 * commands change at run time), each given `allowedIps` in its own namespace:
 *
 *   const wg = await dp.create({ kind: 'wg', options: { privateKey, listen: '0.0.0.0:51820',
 *     nat: { addr: '10.0.0.1/24', dns: '10.0.0.3' }, acceptUnknown: { allowedIps: ['10.0.0.2/32'], keys } } });
 *
 *   port worker:  UdpSocket <-> WgDevice --+--> peer port --connectL3--> Stack namespace --> sockets
 *                                          +--> peer port --connectL3--> Stack namespace --> sockets
 *
 * Options are structured-clonable (keys as base64 or hex text). Commands: `port` (the bound UDP
 * port), `show` (wg show), `addPeer` (a peer config), `removePeer` (a public key), `connect` (a
 * public key: handshake now); with nat also `authorize` and `revoke` (a public key: allowed as an
 * unknown initiator from now on, or no longer, its peer removed) and `nat` (the Stack's stats).
 * One inner link at a time (none with nat).
 *
 * This module (not the protocol core) is where pktkit/wg meets the I/O layer (src/udp) and the
 * dataplane's engine interface (type-only).
 */

import type { L3Device, PacketHandler } from '../core/device.js';
import type { DataplaneModule, Engine, EngineContext } from './types.js';
import { ConfigError, PktTypeError, intInRange } from '../errors.js';
import { hasNative, requireNative } from '../native/index.js';
import { TaskPool } from './task-pool.js';
import { UdpSocket } from '../udp/socket.js';
import { BatchedUdpBind, DgramBind } from '../wg/bind-udp.js';
import type { WgBind } from '../wg/bind.js';
import type { WgDeviceInfo, WgPeerConfig } from '../wg/config.js';
import { WgDevice } from '../wg/device.js';
import { WgConcentrator, type WgConcentratorStats } from '../wg/concentrator.js';
import { toKey } from '../wg/crypto.js';
import { Stack, type SlirpOptions } from '../slirp/stack.js';
import { IpPrefix } from '../wire/addr.js';

/** This module's URL, for `new Dataplane({ modules: [WG_ENGINE_MODULE] })`. */
export const WG_ENGINE_MODULE = import.meta.url;

/** Options of a `wg` engine (structured-clonable). */
export interface WgEngineOptions {
  /** Our private key, base64 (wg genkey) or hex. */
  privateKey: string;
  /** Local UDP endpoint (default `0.0.0.0:0`: any port; `port` tells which). */
  listen?: string;
  peers?: WgPeerConfig[];
  /** Tunnel MTU (default 1420). */
  mtu?: number;
  /** The WgDevice's inner address (what its L3Device `addr` says). */
  addr?: string | null;
  /** Transport AEAD: 'auto' (default: the addon when built), 'native', 'node' (node:crypto). */
  aead?: 'auto' | 'native' | 'node';
  /** Outer socket: 'auto' (default: batched when the addon has UDP), 'batched', 'dgram'. */
  udp?: 'auto' | 'batched' | 'dgram';
  /** Batched socket: UDP GSO on send (default true). */
  gso?: boolean;
  /** Batched socket: entries per recvmmsg and tx entries (default 64 and 256). */
  rxEntries?: number;
  txEntries?: number;
  /** SO_RCVBUF / SO_SNDBUF in bytes (default 4 MiB each). */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /**
   * Handshake crypto on a piscina pool of this many threads, started by the engine in its port
   * worker (the control thread's `dp.tasks` is out of reach there; default 0: inline).
   */
  handshakeThreads?: number;
  /** With handshakeThreads: 'under-load' (default) or 'always'. */
  handshakeOffload?: 'under-load' | 'always';
  /** Concentrator mode: each peer in its own namespace of a slirp Stack built in the worker (no inner link). */
  nat?: WgNatOptions;
  /** With nat: initiators that are not configured peers, authorised once authenticated. */
  acceptUnknown?: WgAcceptUnknown;
}

/** The slirp Stack of a `wg` engine in concentrator mode (SlirpOptions, structured-clonable). */
export type WgNatOptions = Omit<SlirpOptions, 'clock' | 'connect'>;

/** Which unknown initiators a concentrator accepts, and what each gets. */
export interface WgAcceptUnknown {
  /** Each accepted peer's allowed IPs (in its own namespace, so every peer may get the same). */
  allowedIps: string[];
  /** Only these public keys (base64 or hex); absent: any key that completes a handshake. */
  keys?: string[];
  /** Seconds (0 or absent: off). */
  persistentKeepalive?: number;
}

const OPTION_KEYS = [
  'privateKey', 'listen', 'peers', 'mtu', 'addr', 'aead', 'udp', 'gso', 'rxEntries', 'txEntries', 'recvBufferSize', 'sendBufferSize', 'handshakeThreads', 'handshakeOffload',
  'nat', 'acceptUnknown',
];
const noop: PacketHandler = () => {};
/** recvmmsg batches per wake before the loop lets the event loop (rings, timers) run. */
const BATCHES_PER_WAKE = 16;

function checkOptions(options: unknown): WgEngineOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new PktTypeError('wg engine: expected options { privateKey, listen?, peers?, ... }');
  for (const k of Object.keys(options)) if (!OPTION_KEYS.includes(k)) throw new PktTypeError(`wg engine: unknown option '${k}' (expected ${OPTION_KEYS.join(', ')})`);
  const o = options as WgEngineOptions;
  if (typeof o.privateKey !== 'string') throw new PktTypeError('wg engine: option privateKey (base64 or hex text) is required');
  if (o.peers !== undefined && !Array.isArray(o.peers)) throw new PktTypeError('wg engine: option peers must be an array');
  for (const [k, allowed] of [
    ['aead', ['auto', 'native', 'node']],
    ['udp', ['auto', 'batched', 'dgram']],
    ['handshakeOffload', ['under-load', 'always']],
  ] as const) {
    const v = o[k];
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw new PktTypeError(`wg engine: option ${k} must be one of ${allowed.join(', ')}, got ${String(v)}`);
  }
  if (o.nat !== undefined && (o.nat === null || typeof o.nat !== 'object' || typeof o.nat.addr !== 'string')) {
    throw new PktTypeError("wg engine: option nat must be the slirp Stack's options, e.g. { addr: '10.0.0.1/24' }");
  }
  const u = o.acceptUnknown;
  if (u !== undefined) {
    if (o.nat === undefined) throw new ConfigError('wg engine: acceptUnknown needs nat (each accepted peer gets its own namespace; on a shared link their allowed IPs would collide)');
    if (u === null || typeof u !== 'object' || !Array.isArray(u.allowedIps) || !u.allowedIps.every((x) => typeof x === 'string')) {
      throw new PktTypeError("wg engine: option acceptUnknown must be { allowedIps: string[], keys?: string[], persistentKeepalive?: number }");
    }
    if (u.keys !== undefined && (!Array.isArray(u.keys) || !u.keys.every((x) => typeof x === 'string'))) throw new PktTypeError('wg engine: acceptUnknown.keys must be an array of public keys (base64 or hex)');
    for (const p of u.allowedIps) IpPrefix.parse(p);
  }
  return o;
}

/** A public key (base64 or hex text) as lowercase hex. @throws {PktTypeError} when it is not a key. */
function hexKey(k: unknown): string {
  if (typeof k !== 'string') throw new PktTypeError(`wg engine: expected a public key (base64 or hex text), got ${typeof k}`);
  const b = toKey('publicKey', k);
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function splitHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (m === null || Number(m[3]) > 65535) throw new PktTypeError(`wg engine: expected listen like 0.0.0.0:51820 or [::]:51820, got ${JSON.stringify(s)}`);
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

export class WgEngine implements Engine<L3Device> {
  readonly device: WgDevice;
  /** Concentrator mode (`nat`): the per-peer ports and the Stack behind them; else null. */
  readonly concentrator: WgConcentrator | null = null;
  readonly nat: Stack | null = null;
  /** acceptUnknown's allow-list as hex keys (null: any key), and what accepted peers get. */
  readonly #accept: { keys: Set<string> | null; cfg: { allowedIps: string[]; persistentKeepalive?: number } } | null = null;
  readonly #socket: UdpSocket | null;
  readonly #bind: BatchedUdpBind | DgramBind;
  readonly #port: number;
  #dev: L3Device | null = null;
  #closed = false;
  #kick = -1;
  #loop: Promise<void> = Promise.resolve();
  /** recvmmsg batches and wakes (stats). */
  #batches = 0;
  #wakes = 0;
  #error: string | null = null;
  readonly #pool: TaskPool | null;
  readonly #toTunnel: PacketHandler;

  private constructor(o: WgEngineOptions, bind: BatchedUdpBind | DgramBind, socket: UdpSocket | null, port: number, ctx: EngineContext) {
    this.#bind = bind;
    this.#socket = socket;
    this.#port = port;
    const threads = intInRange('wg engine handshakeThreads', o.handshakeThreads ?? 0, 0, 64);
    this.#pool = threads > 0 ? new TaskPool(threads) : null;
    const deviceOpts = {
      handshakeOffload: this.#pool === null ? null : { runner: this.#pool, mode: o.handshakeOffload ?? 'under-load' },
      privateKey: o.privateKey,
      bind: bind as WgBind,
      listenPort: port,
      peers: o.peers ?? [],
      mtu: o.mtu,
      addr: o.addr ?? null,
      clock: ctx.clock,
      aead: o.aead === 'native' ? { native: true } : o.aead === 'node' ? { native: false } : {},
    } as const;
    if (o.nat === undefined) {
      this.device = new WgDevice(deviceOpts);
    } else {
      const u = o.acceptUnknown;
      if (u !== undefined) {
        const cfg = { allowedIps: [...u.allowedIps], ...(u.persistentKeepalive !== undefined ? { persistentKeepalive: u.persistentKeepalive } : {}) };
        this.#accept = { keys: u.keys === undefined ? null : new Set(u.keys.map(hexKey)), cfg };
      }
      const nat = new Stack({ ...o.nat, clock: ctx.clock });
      this.nat = nat;
      try {
        this.concentrator = new WgConcentrator({ ...deviceOpts, inner: nat, onUnknownPeer: this.#accept === null ? null : (key) => this.#admit(key) });
      } catch (err) {
        void nat.close();
        throw err;
      }
      this.device = this.concentrator.device;
    }
    const device = this.device;
    this.#toTunnel = (p) => device.send(p);
  }

  /**
   * Opens the socket and builds the device.
   * @throws {PktTypeError} on malformed options; {PktError} ERR_PKT_IO when the bind fails,
   *   ERR_PKT_NATIVE_UNAVAILABLE for 'batched' or 'native' without the addon.
   */
  static async create(options: unknown, ctx: EngineContext): Promise<WgEngine> {
    const o = checkOptions(options);
    const listen = o.listen ?? '0.0.0.0:0';
    const { host, port } = splitHostPort(listen);
    const batched = o.udp === 'batched' || (o.udp !== 'dgram' && hasNative('udp'));
    const rcv = intInRange('wg engine recvBufferSize', o.recvBufferSize ?? 4 << 20, 1024, 1 << 30);
    const snd = intInRange('wg engine sendBufferSize', o.sendBufferSize ?? 4 << 20, 1024, 1 << 30);
    if (!batched) {
      const bind = await DgramBind.open({ address: host, port, type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: rcv, sendBufferSize: snd });
      try {
        return new WgEngine(o, bind, null, bind.port, ctx);
      } catch (err) {
        bind.close();
        throw err;
      }
    }
    const socket = UdpSocket.open({
      bind: listen,
      gso: o.gso ?? true,
      rxEntries: intInRange('wg engine rxEntries', o.rxEntries ?? 64, 1, 1024),
      txEntries: intInRange('wg engine txEntries', o.txEntries ?? 256, 1, 1024),
      recvBufferSize: rcv,
      sendBufferSize: snd,
    });
    let engine: WgEngine;
    try {
      engine = new WgEngine(o, new BatchedUdpBind(socket), socket, socket.localAddress.port, ctx);
    } catch (err) {
      socket.close();
      throw err;
    }
    engine.#start();
    return engine;
  }

  #start(): void {
    const b = requireNative('wg engine', 'udp');
    this.#kick = b.eventfdCreate();
    this.#loop = this.#run().catch((err: unknown) => {
      // The socket failed under us: the engine stops receiving (stats say why), its worker lives on.
      this.#error = err instanceof Error ? err.message : String(err);
    });
  }

  /** The receive loop: drain in batches, then wait (off-thread) for the socket or the close kick. */
  async #run(): Promise<void> {
    const socket = this.#socket!;
    const bind = this.#bind as BatchedUdpBind;
    const device = this.device;
    while (!this.#closed) {
      for (let i = 0; i < BATCHES_PER_WAKE && !this.#closed; i++) {
        if (bind.pollBatch(device) === 0) break;
        this.#batches++;
      }
      if (this.#closed) break;
      await socket.waitAsync(-1, this.#kick);
      this.#wakes++;
    }
  }

  /** onUnknownPeer with acceptUnknown: the configured allowed IPs for an allowed key, else refused. */
  #admit(key: Uint8Array): { allowedIps: string[]; persistentKeepalive?: number } | null {
    const a = this.#accept!;
    if (a.keys !== null && !a.keys.has(Buffer.from(key.buffer, key.byteOffset, key.length).toString('hex'))) return null;
    return a.cfg;
  }

  attach(dev: L3Device): () => void {
    if (this.nat !== null) throw new ConfigError('wg engine: with nat the peers are behind its own Stack; it takes no inner link');
    if (this.#dev !== null) throw new ConfigError('wg engine: one inner link at a time (unlink the other first)');
    this.#dev = dev;
    dev.setHandler(this.#toTunnel);
    this.device.setHandler((p) => dev.send(p));
    return () => {
      if (this.#dev !== dev) return;
      this.#dev = null;
      dev.setHandler(noop);
      this.device.setHandler(noop);
    };
  }

  stats(): {
    wg: WgDeviceInfo;
    udp: 'batched' | 'dgram';
    port: number;
    batches: number;
    wakes: number;
    error: string | null;
    handshakes: { inFlight: number; completed: number };
    socket: Record<string, number> | null;
    concentrator?: WgConcentratorStats;
  } {
    return {
      ...(this.concentrator === null ? {} : { concentrator: this.concentrator.stats() }),
      error: this.#error,
      handshakes: this.device.offloadStats,
      wg: this.device.show(),
      udp: this.#socket !== null ? 'batched' : 'dgram',
      port: this.#port,
      batches: this.#batches,
      wakes: this.#wakes,
      socket: this.#socket === null ? null : ({ ...this.#socket.stats() } as unknown as Record<string, number>),
    };
  }

  command(name: string, payload: unknown): unknown {
    switch (name) {
      case 'port':
        return this.#port;
      case 'show':
        return this.device.show();
      case 'addPeer':
        this.device.addPeer(payload as WgPeerConfig);
        return null;
      case 'removePeer':
        return this.device.removePeer(payload as string);
      case 'connect':
        this.device.connect(payload as string);
        return null;
      case 'authorize':
      case 'revoke': {
        const keys = this.#accept?.keys;
        if (keys === undefined || keys === null) throw new ConfigError(`wg engine: ${name} needs acceptUnknown with a keys list (without one every key is accepted)`);
        const hex = hexKey(payload);
        if (name === 'authorize') {
          keys.add(hex);
          return null;
        }
        keys.delete(hex);
        return this.device.removePeer(hex);
      }
      case 'nat':
        if (this.nat === null) throw new ConfigError('wg engine: no nat (the engine was created without it)');
        return this.nat.stats();
      default:
        throw new PktTypeError(`wg engine: unknown command '${name}' (expected port, show, addPeer, removePeer, connect, authorize, revoke, nat)`);
    }
  }

  /** Stops the receive loop (its wait is kicked), then closes the device and its socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#kick >= 0) {
      const b = requireNative('wg engine', 'udp');
      b.eventfdKick(this.#kick);
      await this.#loop.catch(() => {});
      b.fdClose(this.#kick);
      this.#kick = -1;
    }
    if (this.concentrator !== null) this.concentrator.close(); // its ports first, then the device
    else this.device.close(); // closes the bind, and with it the socket
    await this.nat?.close();
    await this.#pool?.close();
  }
}

/** Registers the `wg` kind in a port worker. */
const register: DataplaneModule = (registry) => {
  registry.define('wg', { layer: 3, create: (options, ctx) => WgEngine.create(options, ctx) });
};
export default register;
