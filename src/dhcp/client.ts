/**
 * DHCP client (RFC 2131 §3.1, §4.4; options of RFC 2132), sans-I/O: frames in through
 * `handleFrame`, frames out through the host, time from the host's clock, randomness from the
 * host's `random`. One per interface; not reentrant; all calls on one thread.
 *
 *                 start()                       ┌──────── NAK (after nakDelayMs) ─────────┐
 *                    │                          ▼                                         │
 *   (requestedAddr) REBOOTING ──ACK──┐   INIT ──► SELECTING ──OFFER──► REQUESTING ──ACK──┤
 *         │ NAK / no answer ─► INIT  │    ▲                                              │
 *         ▼                          ▼    │ DECLINE, 10 s                                ▼
 *                                 PROBING (ARP, RFC 5227) ── address in use ─────────────┘
 *                                    │ free
 *                                    ▼
 *          ┌──── ACK ────────────  BOUND ──T1──► RENEWING ──T2──► REBINDING ──expiry──► INIT
 *          └──────────────────────────────────────┴── ACK ───────────┘    (applyLease(null))
 *
 * - Retransmission (§4.1): DISCOVER and REQUEST after 4, 8, 16, 32, 64, 64 ... seconds, each
 *   ±1 s of uniform jitter; DISCOVER forever, REQUEST `maxRequestTries` times, then back to INIT
 *   (§3.1 step 5). In RENEWING and REBINDING, half the time left until T2 or expiry, at least
 *   60 s (§4.4.5).
 * - Replies are taken only with the current xid and this interface's MAC in chaddr; in
 *   REQUESTING, an ACK or NAK naming another server than the one chosen is ignored.
 * - The lease runs from when the REQUEST that got it was first sent (§4.4.1). T1 and T2 come
 *   from options 58 and 59 when they are consistent (T1 ≤ T2 ≤ lease), else 0.5 and 0.875 of
 *   the lease (§4.4.5). A lease of 0xffffffff seconds is infinite: no timers.
 * - After an ACK in REQUESTING or REBOOTING the address is ARP-probed; in use means DECLINE and
 *   a new DISCOVER 10 s later (§3.1 step 5, "a minimum of ten seconds").
 * - RENEWING unicasts to the server (IP src the lease, Ethernet dst the MAC the ACK came from,
 *   ciaddr set, no options 50 and 54: §4.3.2); REBINDING broadcasts the same.
 * - `stop()` RELEASEs a held lease (unicast to its server) and withdraws it (`applyLease(null)`).
 *
 * Not supported: choosing among several OFFERs (the first valid one is taken, which §4.4.1
 * allows), the random 1-10 s delay before the first DISCOVER (a virtual link has no boot storm),
 * keeping an unconfirmed lease when no server answers in REBOOTING (we fall back to DISCOVER),
 * DHCPINFORM, relay agents, and hardware other than Ethernet.
 */

import type { TimerHandle } from '../core/clock.js';
import { BROADCAST_MAC } from '../wire/addr.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpMessageType, DhcpOp, newDhcpFields, type DhcpFields } from '../wire/dhcp.js';
import { WireStatus } from '../wire/status.js';
import { DhcpCounters, DhcpDrop, DhcpFrameReader, IPV4_BROADCAST, buildDhcpFrame, maskToPrefixLen } from './frame.js';
import type { DhcpAppliedLease, DhcpClientEngine, DhcpClientFactory, DhcpClientHost } from './host.js';
import {
  DhcpClientState,
  parseClientOptions,
  type ClientConfig,
  type DhcpClientOptions,
  type DhcpClientStats,
  type DhcpLease,
  type DhcpLeaseListener,
} from './client-config.js';

export { DhcpClientState, type DhcpClientOptions, type DhcpClientStats, type DhcpLease, type DhcpLeaseListener } from './client-config.js';

// RFC 2131 §4.1: "the delay before the first retransmission SHOULD be 4 seconds randomized by the
// value of a uniform random number chosen from the range -1 to +1 ... The delay before the next
// retransmission SHOULD be 8 seconds ... up to a maximum of 64 seconds."
const RETRANSMIT_FIRST_SECS = 4;
const RETRANSMIT_MAX_SECS = 64;
const RETRANSMIT_JITTER_MS = 1000;
// §4.4.5: "...down to a minimum of 60 seconds, before retransmitting the DHCPREQUEST".
const RENEW_RETRANSMIT_MIN_MS = 60_000;
const T1_FRACTION = 0.5;
const T2_FRACTION = 0.875;
const INFINITE_LEASE = 0xffff_ffff;
/** RFC 2132 §9.10: at least 576. We take a whole Ethernet MTU less the IPv4 and UDP headers. */
const MAX_MESSAGE_SIZE = 1500 - 20 - 8;
const DEFAULT_PREFIX_LEN = 24;
const MAX_SECS_FIELD = 0xffff;
/** The longest delay a Node timer takes (2^31 - 1 ms); longer ones are re-armed in steps. */
const MAX_TIMER_MS = 0x7fff_ffff;

/** An address a server may hand out: not 0, not broadcast, not multicast or class E, not loopback. */
function usableAddr(a: number): boolean {
  return a !== 0 && a >>> 24 !== 127 && a < 0xe000_0000;
}

export class DhcpClient implements DhcpClientEngine {
  private readonly host: DhcpClientHost;
  private readonly cfg: ClientConfig;
  private readonly reader = new DhcpFrameReader();
  private readonly counters = new DhcpCounters();
  private readonly listeners = new Set<DhcpLeaseListener>();

  private st: DhcpClientState = DhcpClientState.Stopped;
  private xid = 0;
  private timer: TimerHandle | null = null;
  /** When the armed timer's work is due (it may fire early when the delay was capped). */
  private dueAt = 0;
  /** Transmissions of the current message so far, for the backoff. */
  private tries = 0;
  /** When the current exchange began (the `secs` field), and when its first REQUEST left. */
  private exchangeStart = 0;
  private requestSentAt = 0;
  private offerAddr = 0;
  private offerServer = 0;
  /** The lease ACKed but not yet probed. */
  private pending: DhcpLease | null = null;
  private current: DhcpLease | null = null;
  /** The last address held, asked for (option 50) in the next DISCOVER. */
  private lastAddr = 0;
  /** Bumped on every state change that invalidates an outstanding probe callback. */
  private probeGen = 0;
  private ident = 0;
  private nBound = 0;
  private nRenewed = 0;
  private nRebound = 0;
  private nExpired = 0;
  private nNaks = 0;
  private nDeclines = 0;
  private nRetransmits = 0;

  /** @throws {PktTypeError | PktRangeError} for an invalid option (text, client id, address, duration). */
  constructor(host: DhcpClientHost, opts: DhcpClientOptions = {}) {
    this.host = host;
    this.cfg = parseClientOptions(opts);
  }

  get state(): DhcpClientState {
    return this.st;
  }

  /** The lease held now (BOUND, RENEWING, REBINDING), or null. */
  get lease(): DhcpLease | null {
    return this.current;
  }

  /** Calls `listener` with every new or renewed lease, and with null when it is lost. Returns an unsubscribe. */
  onLeaseChange(listener: DhcpLeaseListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): DhcpClientStats {
    return {
      ...this.counters.snapshot(),
      state: this.st,
      bound: this.nBound,
      renewed: this.nRenewed,
      rebound: this.nRebound,
      expired: this.nExpired,
      naks: this.nNaks,
      declines: this.nDeclines,
      retransmits: this.nRetransmits,
    };
  }

  /** Starts acquiring a lease: INIT-REBOOT with `requestedAddr`, else DISCOVER. No-op when started. */
  start(): void {
    if (this.st !== DhcpClientState.Stopped) return;
    if (this.cfg.requestedAddr !== 0) this.beginRebooting();
    else this.beginSelecting();
  }

  /** Releases a held lease (RELEASE, then `applyLease(null)`), cancels every timer. Idempotent. */
  stop(): void {
    if (this.st === DhcpClientState.Stopped) return;
    this.cancelTimer();
    this.probeGen++;
    this.pending = null;
    const lease = this.current;
    this.st = DhcpClientState.Stopped;
    if (lease !== null) {
      if (this.cfg.releaseOnStop) this.sendRelease(lease);
      this.lose();
    }
  }

  handleFrame(frame: Uint8Array): boolean {
    const c = this.counters;
    if (this.st === DhcpClientState.Stopped) {
      c.drop(DhcpDrop.Closed);
      return false;
    }
    const r = this.reader;
    const st = r.read(frame, DHCP_CLIENT_PORT);
    if (st !== WireStatus.Ok) {
      c.drop(st);
      return false;
    }
    const f = r.fields;
    if (r.srcPort !== DHCP_SERVER_PORT) return this.dropped(DhcpDrop.NotDhcp);
    if (f.op !== DhcpOp.BootReply) return this.dropped(DhcpDrop.WrongOp);
    if (f.xid !== this.xid) return this.dropped(DhcpDrop.WrongXid);
    if (f.chaddr !== this.host.mac) return this.dropped(DhcpDrop.WrongChaddr);
    c.rx(f.messageType);
    switch (f.messageType) {
      case DhcpMessageType.Offer:
        this.onOffer(f);
        break;
      case DhcpMessageType.Ack:
        this.onAck(f, r.ethSrc);
        break;
      case DhcpMessageType.Nak:
        this.onNak(f);
        break;
      default:
        c.drop(DhcpDrop.UnexpectedType);
    }
    return true;
  }

  private dropped(reason: number): false {
    this.counters.drop(reason);
    return false;
  }

  // ---- incoming ---------------------------------------------------------------------------

  private onOffer(f: DhcpFields): void {
    if (this.st !== DhcpClientState.Selecting) return this.counters.drop(DhcpDrop.UnexpectedType);
    if (!usableAddr(f.yiaddr)) return this.counters.drop(DhcpDrop.BadAddress);
    if (f.serverId === 0) return this.counters.drop(DhcpDrop.MissingOption);
    this.offerAddr = f.yiaddr;
    this.offerServer = f.serverId;
    this.st = DhcpClientState.Requesting;
    this.tries = 0;
    this.requestSentAt = this.host.clock.now();
    this.sendRequest();
  }

  private onAck(f: DhcpFields, ethSrc: number): void {
    const s = this.st;
    const fresh = s === DhcpClientState.Requesting || s === DhcpClientState.Rebooting;
    if (!fresh && s !== DhcpClientState.Renewing && s !== DhcpClientState.Rebinding) return this.counters.drop(DhcpDrop.UnexpectedType);
    if (s === DhcpClientState.Requesting && f.serverId !== 0 && f.serverId !== this.offerServer) {
      return this.counters.drop(DhcpDrop.OtherServer);
    }
    if (!usableAddr(f.yiaddr)) return this.counters.drop(DhcpDrop.BadAddress);
    if (f.leaseSecs < 0) return this.counters.drop(DhcpDrop.MissingOption);
    const serverId = f.serverId !== 0 ? f.serverId : s === DhcpClientState.Requesting ? this.offerServer : this.reader.ipSrc;
    if (!usableAddr(serverId)) return this.counters.drop(DhcpDrop.MissingOption);
    let prefixLen = DEFAULT_PREFIX_LEN;
    if (f.subnetMask !== 0) {
      prefixLen = maskToPrefixLen(f.subnetMask);
      if (prefixLen < 0) return this.counters.drop(DhcpDrop.BadAddress);
    }
    const lease = this.makeLease(f, prefixLen, serverId, ethSrc);
    if (!fresh) {
      if (s === DhcpClientState.Renewing) this.nRenewed++;
      else this.nRebound++;
      this.bind(lease);
      return;
    }
    this.pending = lease;
    this.st = DhcpClientState.Probing;
    const gen = ++this.probeGen;
    this.armIn(this.cfg.probeTimeoutMs);
    this.host.probe(lease.addr, (inUse) => {
      if (gen === this.probeGen && this.st === DhcpClientState.Probing) this.probed(inUse);
    });
  }

  private makeLease(f: DhcpFields, prefixLen: number, serverId: number, serverMac: number): DhcpLease {
    const L = f.leaseSecs;
    const start = this.requestSentAt;
    let t1: number;
    let t2: number;
    if (L === INFINITE_LEASE) {
      t1 = t2 = INFINITE_LEASE;
    } else {
      // RFC 2131 §4.4.5: T1 and T2 are configurable by the server; they must come in order.
      t2 = f.rebindingSecs >= 0 && f.rebindingSecs <= L ? f.rebindingSecs : Math.floor(L * T2_FRACTION);
      t1 = f.renewalSecs >= 0 && f.renewalSecs <= t2 ? f.renewalSecs : Math.min(Math.floor(L * T1_FRACTION), t2);
    }
    const at = (secs: number): number => (L === INFINITE_LEASE ? Infinity : start + secs * 1000);
    return {
      addr: f.yiaddr,
      prefixLen,
      router: f.routers.length > 0 ? f.routers[0]! : null,
      dns: [...f.dnsServers],
      domain: f.domainName,
      serverId,
      serverMac,
      leaseSecs: L,
      t1Secs: t1,
      t2Secs: t2,
      startedAt: start,
      renewAt: at(t1),
      rebindAt: at(t2),
      expiresAt: at(L),
    };
  }

  private probed(inUse: boolean): void {
    const lease = this.pending!;
    this.pending = null;
    this.cancelTimer();
    if (!inUse) {
      this.nBound++;
      this.bind(lease);
      return;
    }
    // RFC 2131 §3.1 step 5: the address is in use: DECLINE it, and start again after 10 s.
    this.nDeclines++;
    this.st = DhcpClientState.Init;
    this.armIn(this.cfg.declineDelayMs);
    this.sendDecline(lease);
  }

  private bind(lease: DhcpLease): void {
    const prev = this.current;
    this.current = lease;
    this.lastAddr = lease.addr;
    this.st = DhcpClientState.Bound;
    const same =
      prev !== null &&
      prev.addr === lease.addr &&
      prev.prefixLen === lease.prefixLen &&
      prev.router === lease.router &&
      prev.dns.length === lease.dns.length &&
      prev.dns.every((d, i) => d === lease.dns[i]);
    // State and timer first: the host and listeners may call back in (stop(), say).
    this.cancelTimer();
    if (lease.renewAt !== Infinity) this.armAt(lease.renewAt);
    if (!same) this.host.applyLease(applied(lease));
    this.notify(lease);
  }

  private onNak(f: DhcpFields): void {
    const s = this.st;
    if (s === DhcpClientState.Requesting) {
      if (f.serverId !== 0 && f.serverId !== this.offerServer) return this.counters.drop(DhcpDrop.OtherServer);
    } else if (s !== DhcpClientState.Rebooting && s !== DhcpClientState.Renewing && s !== DhcpClientState.Rebinding) {
      return this.counters.drop(DhcpDrop.UnexpectedType);
    }
    // RFC 2131 §3.1 step 5 (and §3.2 step 3): on DHCPNAK the client restarts in INIT; a lease
    // it was renewing is gone (§4.4.5).
    this.nNaks++;
    this.st = DhcpClientState.Init;
    this.armIn(this.cfg.nakDelayMs);
    this.lose();
  }

  /** Withdraws the lease held: `applyLease(null)` and the listeners. */
  private lose(): void {
    if (this.current === null) return;
    this.current = null;
    this.host.applyLease(null);
    this.notify(null);
  }

  private notify(lease: DhcpLease | null): void {
    for (const l of this.listeners) l(lease);
  }

  // ---- timers -----------------------------------------------------------------------------

  private cancelTimer(): void {
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private armIn(delayMs: number): void {
    this.armAt(this.host.clock.now() + delayMs);
  }

  private armAt(at: number): void {
    this.cancelTimer();
    this.dueAt = at;
    const delay = Math.min(Math.max(0, at - this.host.clock.now()), MAX_TIMER_MS);
    this.timer = this.host.clock.setTimer(this.onTimer, delay);
  }

  /** §4.1 backoff for the `n`th retransmission (0 = the first): 4, 8, ... 64 s, ±1 s. */
  private backoffMs(n: number): number {
    const secs = Math.min(RETRANSMIT_FIRST_SECS * 2 ** Math.min(n, 4), RETRANSMIT_MAX_SECS);
    return secs * 1000 + (this.host.random() * 2 - 1) * RETRANSMIT_JITTER_MS;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = this.host.clock.now();
    if (now < this.dueAt) return this.armAt(this.dueAt);
    switch (this.st) {
      case DhcpClientState.Init:
        return this.beginSelecting();
      case DhcpClientState.Selecting:
        this.nRetransmits++;
        return this.sendDiscover();
      case DhcpClientState.Requesting:
      case DhcpClientState.Rebooting:
        if (this.tries >= this.cfg.maxRequestTries) return this.beginSelecting();
        this.nRetransmits++;
        return this.sendRequest();
      case DhcpClientState.Probing:
        // The host never answered the probe: take the address as free rather than hang.
        this.probeGen++;
        return this.probed(false);
      case DhcpClientState.Bound:
        return this.beginRenewing(DhcpClientState.Renewing);
      case DhcpClientState.Renewing:
        if (now >= this.current!.rebindAt) return this.beginRenewing(DhcpClientState.Rebinding);
        this.nRetransmits++;
        return this.sendRequest();
      case DhcpClientState.Rebinding:
        if (now >= this.current!.expiresAt) return this.expire();
        this.nRetransmits++;
        return this.sendRequest();
      default:
    }
  };

  private expire(): void {
    this.nExpired++;
    this.lose();
    // A listener told of the loss may have stopped the client.
    if (this.st !== DhcpClientState.Stopped) this.beginSelecting();
  }

  // ---- outgoing ---------------------------------------------------------------------------

  private newXid(): void {
    this.xid = Math.floor(this.host.random() * 0x1_0000_0000) >>> 0;
    this.tries = 0;
    this.exchangeStart = this.host.clock.now();
  }

  private beginSelecting(): void {
    this.pending = null;
    this.offerAddr = 0;
    this.offerServer = 0;
    this.st = DhcpClientState.Selecting;
    this.newXid();
    this.sendDiscover();
  }

  private beginRebooting(): void {
    this.st = DhcpClientState.Rebooting;
    this.newXid();
    this.requestSentAt = this.exchangeStart;
    this.sendRequest();
  }

  private beginRenewing(s: DhcpClientState): void {
    this.st = s;
    this.newXid();
    this.requestSentAt = this.exchangeStart;
    this.sendRequest();
  }

  private fields(type: number): DhcpFields {
    const f = newDhcpFields();
    f.messageType = type;
    f.xid = this.xid;
    f.chaddr = this.host.mac;
    f.flags = this.cfg.flags;
    f.secs = Math.min(Math.floor((this.host.clock.now() - this.exchangeStart) / 1000), MAX_SECS_FIELD);
    f.clientId = this.cfg.clientId;
    return f;
  }

  private withParams(f: DhcpFields): DhcpFields {
    f.hostName = this.cfg.hostname;
    f.paramRequestList = this.cfg.params;
    f.maxMessageSize = MAX_MESSAGE_SIZE;
    return f;
  }

  private send(f: DhcpFields, ethDst: number, ipSrc: number, ipDst: number): void {
    this.counters.tx(f.messageType);
    const frame = buildDhcpFrame(f, {
      ethSrc: this.host.mac,
      ethDst,
      ipSrc,
      ipDst,
      srcPort: DHCP_CLIENT_PORT,
      dstPort: DHCP_SERVER_PORT,
      ident: this.ident++,
    });
    this.host.sendFrame(frame);
  }

  private sendDiscover(): void {
    const f = this.withParams(this.fields(DhcpMessageType.Discover));
    f.requestedIp = this.lastAddr;
    // Timers are armed before sending: a host may deliver the reply inside `sendFrame`, and the
    // state it leads to arms its own timer, which must not be overwritten afterwards.
    this.armIn(this.backoffMs(this.tries++));
    this.send(f, BROADCAST_MAC, 0, IPV4_BROADCAST);
  }

  /** The REQUEST of the current state (§4.3.2 tells them apart by options 50/54 and ciaddr). */
  private sendRequest(): void {
    const f = this.withParams(this.fields(DhcpMessageType.Request));
    const s = this.st;
    if (s === DhcpClientState.Requesting) {
      f.requestedIp = this.offerAddr;
      f.serverId = this.offerServer;
    } else if (s === DhcpClientState.Rebooting) {
      f.requestedIp = this.cfg.requestedAddr;
    } else {
      const lease = this.current!;
      f.ciaddr = lease.addr;
      f.flags = 0;
      const now = this.host.clock.now();
      this.tries++;
      if (s === DhcpClientState.Renewing) {
        this.armAt(Math.min(lease.rebindAt, now + Math.max(RENEW_RETRANSMIT_MIN_MS, (lease.rebindAt - now) / 2)));
        this.send(f, lease.serverMac, lease.addr, lease.serverId);
      } else {
        this.armAt(Math.min(lease.expiresAt, now + Math.max(RENEW_RETRANSMIT_MIN_MS, (lease.expiresAt - now) / 2)));
        this.send(f, BROADCAST_MAC, lease.addr, IPV4_BROADCAST);
      }
      return;
    }
    this.armIn(this.backoffMs(this.tries++));
    this.send(f, BROADCAST_MAC, 0, IPV4_BROADCAST);
  }

  private sendDecline(lease: DhcpLease): void {
    const f = this.fields(DhcpMessageType.Decline);
    f.flags = 0;
    f.requestedIp = lease.addr;
    f.serverId = lease.serverId;
    this.send(f, BROADCAST_MAC, 0, IPV4_BROADCAST);
  }

  private sendRelease(lease: DhcpLease): void {
    this.newXid();
    const f = this.fields(DhcpMessageType.Release);
    f.flags = 0;
    f.ciaddr = lease.addr;
    f.serverId = lease.serverId;
    this.send(f, lease.serverMac, lease.addr, lease.serverId);
  }
}

function applied(lease: DhcpLease): DhcpAppliedLease {
  return { addr: lease.addr, prefixLen: lease.prefixLen, router: lease.router, dns: [...lease.dns] };
}

/**
 * The factory the L2 adapter takes: each call makes a `DhcpClient` for one host.
 * @throws {PktTypeError | PktRangeError} at once (not at the adapter) for an invalid option.
 */
export function createDhcpClient(opts: DhcpClientOptions = {}): DhcpClientFactory {
  // Validate now, so that a bad option fails where it was written.
  new DhcpClient(NULL_HOST, opts);
  return (host) => new DhcpClient(host, opts);
}

const NULL_HOST: DhcpClientHost = {
  mac: 0,
  clock: { now: () => 0, setTimer: () => ({ __timer: true }), clearTimer: () => {} },
  random: () => 0,
  sendFrame: () => {},
  probe: () => {},
  applyLease: () => {},
};
