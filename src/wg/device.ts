/**
 * A WireGuard interface (`WgDevice`): configured as wg(8) configures one (private key, listen
 * port, peers with public key, pre-shared key, endpoint, allowed IPs, persistent keepalive), with
 * an `L3Device` inner side and a `WgBind` outer side.
 *
 *   inner network --send(ip packet)--> WgDevice --bind.send(datagram)--> peers
 *   inner network <--handler(packet)-- WgDevice <--receiver(datagram)--  peers
 *
 * Outbound: AllowedIPs picks the peer by destination; with a usable `current` keypair and
 * nothing staged the packet is copied once into the transmit buffer, sealed there and sent;
 * otherwise it is staged (bounded) and a handshake is started. Inbound: type dispatch, then
 * handshakes (mac1; under load mac2 or a cookie reply, and the per-source rate limit; Noise),
 * cookie replies, or transport (index -> keypair, age, authenticate, replay window, key
 * confirmation, timers, padding stripped, source checked against the peer's AllowedIPs).
 * The endpoint roams only on authenticated packets. Every bad datagram is dropped and counted.
 * `receiveBatch` takes a batched UDP socket's rx area whole: consecutive transport messages of
 * one keypair go through one openBatch call, in place.
 *
 * Per data packet nothing is allocated (test/wg/device-alloc.test.ts): the transmit buffer,
 * views cached per size, and a coarse time cell instead of a clock read (coarse-time.ts).
 *
 * Peers as configured live in peer-registry.ts: the peer and AllowedIPs tables, isolation, the
 * peer limit, the checks of a peer's configuration, and run-time authorisation of unknown keys
 * (`onUnknownPeer`, asked only after the initiation authenticated). The device reads those tables
 * on its packet paths; only the registry writes them. wg-quick files: wg-quick.ts.
 * Concentrators (concentrator.ts) give each peer its own inner device: `peer.sink` takes the
 * peer's packets, `sendToPeer` sends to it, and `isolatePeers` gives each peer its own
 * AllowedIPs table so that peers may share inner addresses. Under a handshake storm the
 * responder's crypto can run on a worker pool (`handshakeOffload`, handshake-offload.ts).
 * The UAPI (wg(8)'s configuration protocol) is uapi.ts, uapi-device.ts and uapi-server.ts; the
 * device only has what they cannot do from outside: `rebind` (listen_port) and a few accessors.
 */

import { randomFillSync } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import type { AddrListener, L3Device, PacketHandler } from '../core/device.js';
import { ClosedError, ConfigError, PktTypeError, intInRange } from '../errors.js';
import type { CreateAeadOptions } from '../native/aead.js';
import { IpPrefix } from '../wire/addr.js';
import type { AllowedIps } from './allowed-ips.js';
import { ENDPOINT_WORDS, sameEndpoint, type WgBind } from './bind.js';
import {
  COOKIE_REPLY_LEN, DEFAULT_MTU, INITIATION_LEN, MAX_PEERS, MessageType, REJECT_AFTER_TIME_MS, REKEY_AFTER_TIME_MS, REKEY_ON_RECEIVE_AGE_MS, REKEY_TIMEOUT_MS,
  RESPONSE_LEN, TAG_LEN, TAI64N_LEN, TRANSPORT_HEADER_LEN, TRANSPORT_MAX_LEN,
} from './constants.js';
import { CoarseTime, Jitter } from './coarse-time.js';
import { HandshakeGate } from './cookie.js';
import { generateKeyPair, keyToBase64, toKey } from './crypto.js';
import { Handshake, StaticIdentity, beginSession, consumeInitiation, consumeResponse, createInitiation, createResponse, responseReceiver } from './noise.js';
import { HandshakeOffload } from './handshake-offload.js';
import type { WgDeviceInfo, WgDeviceOptions, WgPeerConfig } from './config.js';
export type { WgDeviceInfo, WgDeviceOptions, WgPeerConfig, WgPeerInfo } from './config.js';
import { PeerStat, type PeerHost, type WgPeer } from './peer.js';
import { PeerRegistry } from './peer-registry.js';
import { IndexTable, type PeerTable } from './tables.js';
import { WgDrop, WgDropCounters } from './stats.js';
import { Keypair, TransportBatch, innerPacketLength, isTransport, openTransport, sealTransport, transportReceiver } from './transport.js';

/** Longest a data-path age check can lag the clock (coarse-time.ts). */
const COARSE_TICK_MS = 50;

export class WgDevice implements L3Device {
  readonly identity: StaticIdentity;
  readonly clock: Clock;
  readonly drops = new WgDropCounters();
  readonly mtu: number;
  /** wg's fwmark (UAPI `fwmark`): recorded and reported; node:dgram cannot set SO_MARK, so a bind that can must read it. */
  fwmark = 0;
  #listenPort: number;
  #bind: WgBind;
  readonly #wall: () => number;
  readonly #random: (b: Uint8Array) => void;
  readonly #aead: CreateAeadOptions;
  readonly #gate: HandshakeGate;
  readonly #onHandshake: ((peer: WgPeer) => void) | null;
  readonly #offload: HandshakeOffload | null;
  readonly #sendRaw = (d: Uint8Array, to: Int32Array, toOff: number): void => this.#bind.send(d, to, toOff);
  /** Peers as configured (peer-registry.ts); `#allowed` and `#peers` are its tables, read here per packet without a call. */
  readonly #registry: PeerRegistry;
  readonly #allowed: AllowedIps<WgPeer>;
  readonly #peers: PeerTable;
  readonly #indices: IndexTable;
  // Buffers: transmit (headroom for the transport header, room for padding and tag), handshake
  // messages, receive delivery cache, scratch for randomness and cookie source bytes.
  readonly #tx: Uint8Array;
  readonly #hs = new Uint8Array(INITIATION_LEN);
  readonly #initView = this.#hs.subarray(0, INITIATION_LEN);
  readonly #respView = this.#hs.subarray(0, RESPONSE_LEN);
  /** Views of #tx by length (sizes repeat: padding makes them multiples of 16 up to the MTU). */
  readonly #txViews: (Uint8Array | undefined)[];
  readonly #tai = new Uint8Array(TAI64N_LEN);
  #lastView: Uint8Array = new Uint8Array(0);
  /** Batch receive: one openBatch per run of one keypair; datagram index of each slot; views per entry. */
  readonly #rx = new TransportBatch(64);
  readonly #rxEntry = new Int32Array(64);
  readonly #rxViews: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(1024).fill(undefined);
  #handler: PacketHandler | null = null;
  #addr: IpPrefix | null = null;
  readonly #addrListeners = new Set<AddrListener>();
  #closed = false;
  /** Coarse time (coarse-time.ts): `#time[0]` on packet paths, `#coarse.sync()` on cold ones. */
  readonly #coarse: CoarseTime;
  readonly #time: Float64Array;
  readonly #jitter: Jitter;

  /** @throws {PktTypeError} on malformed keys or options; {ConfigError} on inconsistent peers. */
  constructor(opts: WgDeviceOptions) {
    if (opts === null || typeof opts !== 'object' || opts.bind === undefined) throw new PktTypeError('WgDevice: options with privateKey and bind are required');
    this.identity = new StaticIdentity(toKey('privateKey', opts.privateKey));
    this.#bind = opts.bind;
    this.clock = opts.clock ?? systemClock;
    this.#wall = opts.wallClock ?? Date.now;
    this.#random = opts.random ?? ((b) => randomFillSync(b));
    this.#aead = opts.aead ?? {};
    this.mtu = intInRange('WgDevice mtu', opts.mtu ?? DEFAULT_MTU, 576, TRANSPORT_MAX_LEN - TRANSPORT_HEADER_LEN - TAG_LEN);
    this.#listenPort = intInRange('WgDevice listenPort', opts.listenPort ?? 0, 0, 65535);
    const maxPeers = intInRange('WgDevice maxPeers', opts.maxPeers ?? MAX_PEERS, 1, MAX_PEERS);
    this.#onHandshake = opts.onHandshake ?? null;
    this.#gate = new HandshakeGate(this.identity, this.#random, this.drops, opts.underLoad ?? null);
    this.#indices = new IndexTable(this.#random);
    this.#txViews = new Array<Uint8Array | undefined>(this.mtu + TRANSPORT_HEADER_LEN + TAG_LEN + 1).fill(undefined);
    this.#tx = new Uint8Array(TRANSPORT_MAX_LEN);
    if (opts.addr !== undefined && opts.addr !== null) this.#addr = IpPrefix.from(opts.addr);
    const device = this;
    this.#coarse = new CoarseTime(this.clock, COARSE_TICK_MS);
    this.#time = this.#coarse.cell;
    this.#jitter = new Jitter(this.#random);
    const host: PeerHost = {
      clock: this.clock,
      time: this.#time,
      syncTime: () => device.#coarse.sync(),
      drops: this.drops,
      jitterMs: () => device.#jitter.next(),
      sendInitiation: (peer, isRetry) => device.#sendInitiation(peer, isRetry),
      sendStaged: (peer) => device.#sendStaged(peer),
      dropIndex: (index) => device.#indices.delete(index),
    };
    this.#registry = new PeerRegistry({
      identity: this.identity, host, maxPeers, isolate: opts.isolatePeers === true, onUnknown: opts.onUnknownPeer ?? null, onRemoved: opts.onPeerRemoved ?? null,
    });
    this.#allowed = this.#registry.allowed;
    this.#peers = this.#registry.peers;
    this.#offload = opts.handshakeOffload === undefined || opts.handshakeOffload === null ? null : new HandshakeOffload(opts.handshakeOffload, {
      identity: this.identity,
      drops: this.drops,
      isClosed: () => device.#closed,
      random: this.#random,
      syncTime: () => device.#coarse.sync(),
      findPeer: (key) => device.#peers.find(key),
      mayEnrol: () => device.#registry.mayEnrol,
      enrol: (hs, from) => device.#registry.enrol(hs, from, 0),
      initiationReceived: (peer, from) => device.#initiationReceived(peer, from, 0),
      newHandshakeIndex: (peer) => device.#indices.newHandshakeIndex(peer),
      finishResponse: (peer, index, msg, now) => device.#finishResponse(peer, index, msg, now),
    });
    this.#bind.setReceiver((d, from, fromOff) => this.receive(d, from, fromOff));
    for (const p of opts.peers ?? []) this.addPeer(p);
  }

  get publicKey(): Uint8Array {
    return this.identity.publicKey;
  }

  /** Informational (wg show, UAPI get): the bind owns the socket; `rebind` changes both. */
  get listenPort(): number {
    return this.#listenPort;
  }

  get bind(): WgBind {
    return this.#bind;
  }

  get maxPeers(): number {
    return this.#registry.maxPeers;
  }

  /** The peers in the order they were added (a copy; cold path). */
  peerList(): WgPeer[] {
    return this.#registry.list();
  }

  /**
   * Swaps the outer side (UAPI listen_port; wireguard-go's BindUpdate): datagrams now come from
   * and go to `bind`, the old bind is closed; sessions and endpoints stay.
   * @throws {ClosedError} after close; {PktRangeError} on a port outside [0, 65535].
   */
  rebind(bind: WgBind, listenPort: number): void {
    if (this.#closed) throw new ClosedError('WgDevice');
    this.#listenPort = intInRange('WgDevice listenPort', listenPort, 0, 65535);
    const old = this.#bind;
    this.#bind = bind;
    bind.setReceiver((d, from, fromOff) => this.receive(d, from, fromOff));
    if (old !== bind) old.close();
  }

  // -------------------------------------------------------------------------------------------
  // Configuration (cold path)

  /**
   * Adds a peer, or updates the one with that public key (wg set ... peer).
   * @throws {ClosedError} after close; {PktTypeError} on a malformed key, endpoint or prefix;
   * {PktError} ERR_PKT_LIMIT past maxPeers; {ConfigError} for our own public key.
   */
  addPeer(cfg: WgPeerConfig): WgPeer {
    if (this.#closed) throw new ClosedError('WgDevice');
    return this.#registry.add(cfg);
  }

  /** Removes a peer (wg set ... peer KEY remove): its keys, indices, routes and timers go. */
  removePeer(publicKey: Uint8Array | string): boolean {
    const peer = this.#registry.find(publicKey);
    if (peer === null) return false;
    this.#registry.remove(peer);
    return true;
  }

  /** `peer`'s allowed prefixes (cold path). */
  allowedIpsOf(peer: WgPeer): IpPrefix[] {
    return this.#registry.prefixesOf(peer);
  }

  /** Handshake jobs in the worker pool now, and responses sent from pool results (0 without offload). */
  get offloadStats(): { inFlight: number; completed: number } {
    return { inFlight: this.#offload?.inFlight ?? 0, completed: this.#offload?.completed ?? 0 };
  }

  /** The peer with `publicKey`, or null. */
  peer(publicKey: Uint8Array | string): WgPeer | null {
    return this.#registry.find(publicKey);
  }

  get peerCount(): number {
    return this.#registry.size;
  }

  /**
   * Replaces a peer's allowed IPs (replace_allowed_ips=true).
   * @throws {ConfigError} for an unknown peer; {PktTypeError} on a malformed prefix.
   */
  setAllowedIps(publicKey: Uint8Array | string, prefixes: (IpPrefix | string)[]): void {
    const peer = this.peer(publicKey);
    if (peer === null) throw new ConfigError('WgDevice: no such peer');
    this.#registry.setAllowedIps(peer, prefixes);
  }

  /** Starts a handshake with a peer now (as adding traffic would). */
  connect(publicKey: Uint8Array | string): void {
    const peer = this.peer(publicKey);
    if (peer === null) throw new ConfigError('WgDevice: no such peer');
    this.#sendInitiation(peer, false);
  }

  /** `wg show` (cold path). */
  show(): WgDeviceInfo {
    return {
      publicKey: keyToBase64(this.identity.publicKey),
      listenPort: this.#listenPort,
      peers: this.#registry.infos(),
      drops: this.drops.snapshot(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // L3Device: the inner side

  setHandler(handler: PacketHandler): void {
    this.#handler = handler;
  }

  get addr(): IpPrefix | null {
    return this.#addr;
  }

  setAddr(addr: IpPrefix | string | null): void {
    this.#addr = addr === null ? null : IpPrefix.from(addr);
    for (const l of this.#addrListeners) l(this.#addr);
  }

  watchAddr(listener: AddrListener): () => void {
    this.#addrListeners.add(listener);
    return () => this.#addrListeners.delete(listener);
  }

  /** An IP packet from the inner network into the tunnel (borrowed: copied before returning). */
  send(packet: Uint8Array): void {
    const len = packet.length;
    if (this.#closed) return this.drops.add(WgDrop.NoEndpoint);
    if (len > TRANSPORT_MAX_LEN - TRANSPORT_HEADER_LEN - TAG_LEN - 16) return this.drops.add(WgDrop.TooBig);
    const peer = this.#allowed.lookupDestination(packet, 0, len);
    if (peer === null) return this.drops.add(WgDrop.NoRoute);
    this.#sendTo(peer, packet, len);
  }

  /**
   * An IP packet for `peer` whatever its destination (a concentrator's per-peer device): the
   * same path as `send` after the AllowedIPs lookup. Borrowed: copied before returning.
   */
  sendToPeer(peer: WgPeer, packet: Uint8Array): void {
    const len = packet.length;
    if (this.#closed || peer.removed) return this.drops.add(WgDrop.NoEndpoint);
    if (len > TRANSPORT_MAX_LEN - TRANSPORT_HEADER_LEN - TAG_LEN - 16) return this.drops.add(WgDrop.TooBig);
    this.#sendTo(peer, packet, len);
  }

  #sendTo(peer: WgPeer, packet: Uint8Array, len: number): void {
    const kp = peer.current;
    if (kp !== null && peer.staged.count === 0 && peer.endpoint[0] !== 0 && !kp.exhausted) {
      // The age stays a local: a fractional ms passed to a call that is not inlined would be
      // boxed (a HeapNumber per packet with the system clock).
      this.#coarse.refresh();
      const age = this.#time[0]! - kp.createdMs;
      if (age < REJECT_AFTER_TIME_MS) {
        this.#tx.set(packet, TRANSPORT_HEADER_LEN); // TypedArray#set copies without allocating
        this.#sealAndSend(peer, kp, len);
        // keepKeyFreshSending: rekey after 2^60 messages, or as initiator after 120 s.
        if (kp.needsRekeyByCount || (kp.isInitiator && age > REKEY_AFTER_TIME_MS)) this.#sendInitiation(peer, false);
        return;
      }
    }
    if (!peer.staged.push(packet, 0, len)) this.drops.add(WgDrop.StagedFull);
    this.#sendStaged(peer);
  }

  /** Stops timers, forgets keys, closes the bind. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#coarse.stop();
    this.#registry.stopAll();
    this.#bind.close();
  }

  // -------------------------------------------------------------------------------------------
  // Outer side: datagrams from the bind

  /** A datagram from the outer network (the bind's receiver). Borrowed; may be rewritten in place. */
  receive(d: Uint8Array, from: Int32Array, fromOff: number): void {
    const len = d.length;
    if (this.#closed) return;
    if (len < 4) return this.drops.add(WgDrop.BadLength);
    if (d[1] !== 0 || d[2] !== 0 || d[3] !== 0) return this.drops.add(WgDrop.BadType);
    switch (d[0]) {
      case MessageType.Transport:
        return this.#receiveTransport(d, len, from, fromOff);
      case MessageType.Initiation:
        if (len !== INITIATION_LEN) return this.drops.add(WgDrop.BadLength);
        return this.#receiveInitiation(d, from, fromOff);
      case MessageType.Response:
        if (len !== RESPONSE_LEN) return this.drops.add(WgDrop.BadLength);
        return this.#receiveResponse(d, from, fromOff);
      case MessageType.CookieReply:
        if (len !== COOKIE_REPLY_LEN) return this.drops.add(WgDrop.BadLength);
        return this.#receiveCookie(d);
      default:
        return this.drops.add(WgDrop.BadType);
    }
  }

  #receiveTransport(d: Uint8Array, len: number, from: Int32Array, fromOff: number): void {
    if (!isTransport(d, 0, len)) return this.drops.add(WgDrop.BadLength);
    const entry = this.#indices.get(transportReceiver(d, 0));
    const kp = entry === undefined ? null : entry.keypair;
    if (kp === null) return this.drops.add(WgDrop.UnknownIndex);
    const peer = entry!.peer;
    this.#coarse.refresh();
    const now = this.#time[0]!;
    if (now - kp.createdMs >= REJECT_AFTER_TIME_MS) return this.drops.add(WgDrop.KeypairExpired);
    const n = openTransport(kp, d, 0, len);
    if (n < 0) return this.drops.add(-n);
    const cur = peer.current;
    const inner = this.#afterOpen(peer, kp, d, 0, len, n, from, fromOff, cur !== null && now - cur.createdMs > REKEY_ON_RECEIVE_AGE_MS);
    const h = peer.sink ?? this.#handler;
    if (inner < 0 || h === null) return;
    // One view per delivered packet at most; reused while the datagram's slot and size repeat.
    const p = TRANSPORT_HEADER_LEN;
    let v = this.#lastView;
    if (v.buffer !== d.buffer || v.byteOffset !== d.byteOffset + p || v.length !== inner) v = this.#lastView = d.subarray(p, p + inner);
    h(v);
  }

  /**
   * After a transport message at d[off..off+len) authenticated and passed the replay window
   * (`n` plaintext bytes at off + 16): roaming, counters, key confirmation, timers, then the
   * inner packet's checks. `currentOld`: the current keypair is past 165 s (computed by the
   * caller, so that no time value crosses this call). Returns the inner length to deliver, or -1.
   */
  #afterOpen(peer: WgPeer, kp: Keypair, d: Uint8Array, off: number, len: number, n: number, from: Int32Array, fromOff: number, currentOld: boolean): number {
    // Authenticated and fresh: only now may it move the endpoint or touch timers.
    this.#roam(peer, from, fromOff);
    peer.stats[PeerStat.RxBytes]! += len;
    peer.stats[PeerStat.RxPackets]!++;
    if (peer.receivedWith(kp)) {
      peer.handshakeComplete(this.#wall());
      if (this.#onHandshake !== null) this.#onHandshake(peer);
      this.#sendStaged(peer);
      currentOld = false; // `next` just became current: a fresh keypair
    }
    peer.keepKeyFreshReceiving(currentOld);
    peer.traversal();
    peer.anyAuthenticatedReceived();
    if (n === 0) return -1; // keepalive
    peer.dataReceived();
    const p = off + TRANSPORT_HEADER_LEN;
    const inner = innerPacketLength(d, p, n);
    if (inner < 0) {
      this.drops.add(WgDrop.BadInnerPacket);
      return -1;
    }
    // The registry's tableOf(peer), inlined: a field load, no call per packet.
    if ((peer.allowed ?? this.#allowed).lookupSource(d, p, inner) !== peer) {
      this.drops.add(WgDrop.SourceNotAllowed);
      return -1;
    }
    return inner;
  }

  /**
   * Receives `count` datagrams from one buffer, the batched UDP socket's layout: datagram i is
   * data[offs[i] .. + lens[i]) from the address record at addrs[8 i]. Consecutive transport
   * messages of one keypair are opened with one openBatch call (then the replay window, in
   * order); anything else goes through `receive` one by one, in arrival order. Reads the clock
   * once per batch. Delivered packets are views cached per entry (one per entry and size).
   */
  receiveBatch(data: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Int32Array, count: number): void {
    if (this.#closed) return;
    this.#coarse.refresh();
    const now = this.#time[0]!;
    const rx = this.#rx;
    rx.clear();
    let runKp: Keypair | null = null;
    for (let i = 0; i < count; i++) {
      const off = offs[i]!;
      const len = lens[i]!;
      if (len < 4) {
        this.drops.add(WgDrop.BadLength); // includes -1: an entry the socket could not fill
        continue;
      }
      if (data[off] === MessageType.Transport) {
        if (!isTransport(data, off, len)) {
          this.drops.add(WgDrop.BadLength);
          continue;
        }
        const entry = this.#indices.get(transportReceiver(data, off));
        const kp = entry === undefined ? null : entry.keypair;
        if (kp === null) {
          this.drops.add(WgDrop.UnknownIndex);
          continue;
        }
        if (now - kp.createdMs >= REJECT_AFTER_TIME_MS) {
          this.drops.add(WgDrop.KeypairExpired);
          continue;
        }
        if (kp !== runKp || rx.count === rx.capacity) {
          if (runKp !== null) this.#flushRx(runKp, data, offs, lens, addrs, now);
          runKp = kp;
        }
        this.#rxEntry[rx.addOpen(kp, data, off, len)] = i;
        continue;
      }
      if (runKp !== null) this.#flushRx(runKp, data, offs, lens, addrs, now);
      runKp = null;
      this.receive(data.subarray(off, off + len), addrs, i * ENDPOINT_WORDS); // handshake path: a view is fine
    }
    if (runKp !== null) this.#flushRx(runKp, data, offs, lens, addrs, now);
  }

  #flushRx(kp: Keypair, data: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Int32Array, now: number): void {
    const rx = this.#rx;
    rx.open(kp, data);
    const peer = (kp.owner as WgPeer | null)!;
    for (let s = 0; s < rx.count; s++) {
      const n = rx.result(s);
      if (n < 0) {
        this.drops.add(-n);
        continue;
      }
      const i = this.#rxEntry[s]!;
      const off = offs[i]!;
      const cur = peer.current;
      const inner = this.#afterOpen(peer, kp, data, off, lens[i]!, n, addrs, i * ENDPOINT_WORDS, cur !== null && now - cur.createdMs > REKEY_ON_RECEIVE_AGE_MS);
      const h = peer.sink ?? this.#handler;
      if (inner < 0 || h === null) continue;
      const p = data.byteOffset + off + TRANSPORT_HEADER_LEN;
      let v = this.#rxViews[i];
      if (v === undefined || v.buffer !== data.buffer || v.byteOffset !== p || v.length !== inner) v = this.#rxViews[i] = data.subarray(off + TRANSPORT_HEADER_LEN, off + TRANSPORT_HEADER_LEN + inner);
      h(v);
    }
    rx.clear();
  }

  #receiveInitiation(d: Uint8Array, from: Int32Array, fromOff: number): void {
    const now = this.#coarse.sync();
    if (!this.#gate.admit(d, INITIATION_LEN, from, fromOff, now, this.#sendRaw)) return;
    if (this.#offload !== null && this.#offload.wants(this.#gate.underLoad)) return this.#offload.consume(d, from, fromOff);
    let found: WgPeer | null = null;
    const r = consumeInitiation(this.identity, d, 0, INITIATION_LEN, now, (key) => {
      found = this.#peers.find(key);
      if (found !== null) return found.handshake;
      // An unknown key: consume on a handshake of its own; ask only once it authenticated.
      return this.#registry.mayEnrol ? new Handshake(this.identity, key, null) : null;
    });
    if (typeof r === 'number') return this.drops.add(r);
    const peer = (found as WgPeer | null) ?? this.#registry.enrol(r, from, fromOff);
    if (peer === null) return this.drops.add(WgDrop.UnknownPeer);
    this.#initiationReceived(peer, from, fromOff);
    // Respond in the same synchronous step: nothing may reuse the handshake slot in between.
    this.#sendResponse(peer, now);
  }

  /** An initiation from `peer` authenticated and committed: roaming, counters, timers. */
  #initiationReceived(peer: WgPeer, from: Int32Array, fromOff: number): void {
    this.#roam(peer, from, fromOff);
    peer.stats[PeerStat.RxBytes]! += INITIATION_LEN;
    peer.traversal();
    peer.anyAuthenticatedReceived();
  }

  #receiveResponse(d: Uint8Array, from: Int32Array, fromOff: number): void {
    const now = this.#coarse.sync();
    if (!this.#gate.admit(d, RESPONSE_LEN, from, fromOff, now, this.#sendRaw)) return;
    const entry = this.#indices.get(responseReceiver(d, 0));
    if (entry === undefined || entry.keypair !== null) return this.drops.add(WgDrop.UnknownIndex);
    const peer = entry.peer;
    const rc = consumeResponse(this.identity, peer.handshake, d, 0, RESPONSE_LEN);
    if (rc !== 0) return this.drops.add(rc);
    this.#roam(peer, from, fromOff);
    peer.stats[PeerStat.RxBytes]! += RESPONSE_LEN;
    peer.traversal();
    peer.anyAuthenticatedReceived();
    const keys = beginSession(this.identity, peer.handshake)!;
    const kp = new Keypair(keys, now, this.#aead);
    kp.owner = peer;
    entry.keypair = kp;
    peer.handshakeIndex = -1;
    peer.installKeypair(kp);
    peer.sessionDerived();
    peer.handshakeComplete(this.#wall());
    if (this.#onHandshake !== null) this.#onHandshake(peer);
    // Key confirmation for the responder: staged data, or a keepalive, right away.
    peer.sendKeepalive();
  }

  #receiveCookie(d: Uint8Array): void {
    const entry = this.#indices.get(d[4]! | (d[5]! << 8) | (d[6]! << 16) | (d[7]! << 24));
    if (entry === undefined) return this.drops.add(WgDrop.UnknownIndex);
    // Never roam on a cookie reply: it is not authenticated by the peer's static key.
    if (!entry.peer.cookies.consumeReply(d, 0, COOKIE_REPLY_LEN, this.#coarse.sync())) this.drops.add(WgDrop.BadCookie);
  }

  #roam(peer: WgPeer, from: Int32Array, fromOff: number): void {
    if (from[fromOff] === 0 || sameEndpoint(peer.endpoint, 0, from, fromOff)) return;
    for (let k = 0; k < ENDPOINT_WORDS; k++) peer.endpoint[k] = from[fromOff + k]!;
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /** #tx[0, len) as a view, cached for lengths up to the MTU plus overhead (one view per size). */
  #txView(len: number): Uint8Array {
    if (len > this.mtu + TRANSPORT_HEADER_LEN + TAG_LEN) return this.#tx.subarray(0, len);
    let v = this.#txViews[len];
    if (v === undefined) v = this.#txViews[len] = this.#tx.subarray(0, len);
    return v;
  }

  #sealAndSend(peer: WgPeer, kp: Keypair, len: number): boolean {
    const n = sealTransport(kp, this.#tx, 0, len, this.mtu);
    if (n < 0) {
      this.drops.add(-n);
      return false;
    }
    peer.stats[PeerStat.TxBytes]! += n;
    peer.stats[PeerStat.TxPackets]!++;
    peer.traversal();
    peer.anyAuthenticatedSent();
    if (len !== 0) peer.dataSent();
    // Last: a synchronous bind may deliver (and so re-enter this device) before returning.
    this.#bind.send(this.#txView(n), peer.endpoint, 0);
    return true;
  }

  #sendStaged(peer: WgPeer): void {
    if (peer.staged.count === 0 || this.#closed) return;
    const now = this.#coarse.sync();
    const kp = peer.sendingKeypair(now);
    if (kp === null || peer.endpoint[0] === 0) {
      this.#sendInitiation(peer, false);
      return;
    }
    const q = peer.staged;
    const tx = this.#tx;
    while (q.count > 0) {
      const len = q.peekLen();
      tx.set(q.peekBuf().subarray(0, len), TRANSPORT_HEADER_LEN); // staged path: one view per packet is fine
      q.shift();
      if (!this.#sealAndSend(peer, kp, len)) break;
    }
    peer.keepKeyFreshSending(now);
  }

  #sendInitiation(peer: WgPeer, isRetry: boolean): void {
    if (this.#closed || peer.removed) return;
    if (!isRetry) peer.resetAttempts();
    const now = this.#coarse.sync();
    if (now - peer.lastSentHandshakeMs < REKEY_TIMEOUT_MS) return;
    if (peer.endpoint[0] === 0) return this.drops.add(WgDrop.NoEndpoint);
    const index = this.#indices.newHandshakeIndex(peer);
    if (index < 0) return this.drops.add(WgDrop.TableFull);
    peer.lastSentHandshakeMs = now;
    peer.timestamp(this.#wall(), this.#tai);
    const out = this.#hs;
    if (!createInitiation(this.identity, peer.handshake, generateKeyPair(this.#random), index, this.#tai, out, 0)) {
      this.#indices.delete(index);
      peer.handshakeIndex = -1;
      return this.drops.add(WgDrop.BadKey);
    }
    peer.cookies.addMacs(out, 0, INITIATION_LEN, now);
    peer.traversal();
    peer.anyAuthenticatedSent();
    peer.stats[PeerStat.TxBytes]! += INITIATION_LEN;
    peer.handshakeInitiated();
    this.#bind.send(this.#initView, peer.endpoint, 0);
  }

  #sendResponse(peer: WgPeer, now: number): void {
    const index = this.#indices.newHandshakeIndex(peer);
    if (index < 0) return this.drops.add(WgDrop.TableFull);
    peer.lastSentHandshakeMs = now;
    const out = this.#hs;
    if (!createResponse(this.identity, peer.handshake, generateKeyPair(this.#random), index, out, 0)) {
      this.#indices.delete(index);
      peer.handshakeIndex = -1;
      return this.drops.add(WgDrop.BadKey);
    }
    this.#finishResponse(peer, index, out, now);
  }

  /** A response in out[0..92) with index and handshake committed: macs, keypair (next), send. */
  #finishResponse(peer: WgPeer, index: number, out: Uint8Array, now: number): void {
    peer.cookies.addMacs(out, 0, RESPONSE_LEN, now);
    const kp = new Keypair(beginSession(this.identity, peer.handshake)!, now, this.#aead);
    kp.owner = peer;
    this.#indices.get(index)!.keypair = kp;
    peer.handshakeIndex = -1;
    peer.installKeypair(kp);
    peer.sessionDerived();
    peer.traversal();
    peer.anyAuthenticatedSent();
    peer.stats[PeerStat.TxBytes]! += RESPONSE_LEN;
    this.#bind.send(out === this.#hs ? this.#respView : out, peer.endpoint, 0);
  }
}
