/**
 * ARP for an L2Adapter (RFC 826, with the probe and announcement of RFC 5227): resolution of
 * IPv4 next hops through the shared neighbour machine (neighbor-table.ts), answers for our own
 * addresses, gratuitous announcements, and address probes for a DHCP client's DECLINE check.
 *
 * Input, per ARP packet (RFC 826 "Packet Reception", then RFC 5227):
 *   1. drop what is malformed, from a group MAC (counted), or our own frame looped back;
 *   2. a sender or a probe's target that a running probe watches: the address is in use;
 *   3. sender IP 0.0.0.0 (a probe): answer it if it asks for one of our addresses, learn nothing;
 *   4. sender IP one of ours from another MAC: an address conflict, counted, not learned;
 *   5. merge: a sender already in the cache is updated (a reply confirms it: REACHABLE);
 *      one that is not is added only when the packet is for one of our addresses (RFC 826:
 *      "If I am the target protocol address ... add the triplet"), so that a flood of
 *      broadcasts from distinct senders cannot fill the cache;
 *   6. a request for one of our addresses gets a unicast reply.
 *
 * Output: the adapter looks the next hop up (`table.find4`); a miss queues the packet and sends
 * up to MAX_MULTICAST_SOLICIT broadcast requests RETRANS_TIMER apart. Unlike the Go original,
 * requests are retried, stale entries are re-verified with unicast requests before they are
 * dropped, and the queue is emptied (counted) when resolution fails.
 *
 * Not supported: RFC 5227 address defence (a conflict is counted, not answered), proxy ARP,
 * RARP/InARP (other operations are dropped as unsupported), ICMP host unreachable on failure.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import { PktError } from '../errors.js';
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, emitArp, newArpFields } from '../wire/arp.js';
import { be32i } from '../wire/bytes.js';
import { ETH_HEADER_LEN, EtherType } from '../wire/ethernet.js';
import { WireStatus } from '../wire/status.js';
import { DropReason } from '../core/stats.js';
import type { L2Core } from './core.js';
import { NeighborTable, NudState, type Neighbor, type NeighborProtocol, type NeighborTableConfig } from './neighbor-table.js';
import { L2Event } from './stats.js';

const BCAST_HI = 0xffff;
const BCAST_LO = -1;
/** Probes running at once, at most. */
export const MAX_PROBES = 64;
const ARP_FRAME_LEN = ETH_HEADER_LEN + ARP_LEN;
// RFC 826 field offsets from the start of the ARP packet (the view's offsets, for int32 reads).
const SPA = 14;
const TPA = 24;

/** One running RFC 5227 probe. */
class ArpProbe {
  readonly addr: number;
  readonly cb: (inUse: boolean) => void;
  readonly count: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  sent = 0;
  timer: TimerHandle | null = null;
  readonly fire: () => void;

  constructor(engine: ArpEngine, addr: number, cb: (inUse: boolean) => void, count: number, timeoutMs: number) {
    this.addr = addr | 0;
    this.cb = cb;
    this.count = count;
    this.timeoutMs = timeoutMs;
    this.intervalMs = timeoutMs / count;
    this.fire = () => engine.probeTimer(this);
  }
}

export class ArpEngine implements NeighborProtocol {
  readonly table: NeighborTable;
  private readonly core: L2Core;
  private readonly clock: Clock;
  private readonly view = new ArpView();
  private readonly f = newArpFields();
  private readonly probes: ArpProbe[] = [];
  private readonly probeCount: number;

  constructor(core: L2Core, clock: Clock, cfg: NeighborTableConfig, seed: number, probeCount: number) {
    this.core = core;
    this.clock = clock;
    this.probeCount = probeCount;
    this.table = new NeighborTable(clock, cfg, core.counters, this, seed);
  }

  /** Number of probes running. */
  get probesRunning(): number {
    return this.probes.length;
  }

  // ---- NeighborProtocol

  /** A broadcast request while resolving; a unicast one to the cached MAC when re-verifying (RFC 1122 §2.3.2.1). */
  solicit(n: Neighbor): void {
    const unicast = n.state !== NudState.Incomplete;
    this.send(ARP_OP_REQUEST, unicast ? n.macHi : BCAST_HI, unicast ? n.macLo : BCAST_LO, 0, 0, this.core.addrs.src4For(n.w0), n.w0);
    this.core.counters.event(L2Event.ArpRequestsSent);
  }

  transmit(n: Neighbor, packet: Uint8Array): void {
    this.core.sendIp(packet, n.macHi, n.macLo, EtherType.IPv4);
  }

  // ---- input

  /** Handles the ARP packet at `off` (`len` bytes) of `frame`. Never throws on bad input. */
  input(frame: Uint8Array, off: number, len: number): void {
    const core = this.core;
    const v = this.view.reset(frame, off, len);
    const st = v.check();
    if (st !== WireStatus.Ok) return core.counters.drop(st);
    const op = v.op;
    if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return core.counters.drop(WireStatus.Unsupported);
    const shaOff = v.senderMacOff;
    if ((frame[shaOff]! & 1) !== 0) return core.counters.drop(DropReason.BadSourceMac);
    const shaHi = (frame[shaOff]! << 8) | frame[shaOff + 1]!;
    const shaLo = be32i(frame, shaOff + 2);
    if (shaHi === core.macHi && shaLo === core.macLo) return core.counters.drop(DropReason.Loop);
    const spa = be32i(frame, off + SPA);
    const tpa = be32i(frame, off + TPA);
    if (this.probes.length > 0) this.checkProbes(op, spa, tpa);
    const addrs = core.addrs;
    const forUs = addrs.isOwn4(tpa);
    if (spa === 0) {
      // RFC 5227 §2.1.1: a probe. Answering it for our address tells the prober it is taken.
      if (forUs && op === ARP_OP_REQUEST) this.reply(shaHi, shaLo, 0, tpa);
      return;
    }
    if (addrs.isOwn4(spa)) {
      core.counters.event(L2Event.AddressConflicts);
      return;
    }
    const n = this.table.find4(spa);
    if (n !== null) {
      if (op === ARP_OP_REPLY) this.table.update(n, shaHi, shaLo, true, true);
      else this.table.learn(n, shaHi, shaLo);
    } else if (forUs) {
      this.table.add4(spa, op === ARP_OP_REPLY ? NudState.Reachable : NudState.Stale, shaHi, shaLo);
    }
    if (forUs && op === ARP_OP_REQUEST) this.reply(shaHi, shaLo, spa, tpa);
  }

  private reply(toHi: number, toLo: number, toIp: number, ourIp: number): void {
    this.send(ARP_OP_REPLY, toHi, toLo, toHi, toLo, ourIp, toIp);
    this.core.counters.event(L2Event.ArpRepliesSent);
  }

  /** Builds and sends an ARP packet from our MAC. */
  private send(op: number, dstHi: number, dstLo: number, thaHi: number, thaLo: number, spa: number, tpa: number): void {
    const core = this.core;
    const b = core.frame(ARP_FRAME_LEN, dstHi, dstLo, EtherType.ARP);
    if (b === null) return;
    const f = this.f;
    f.op = op;
    f.senderMac = core.macHi * 0x1_0000_0000 + (core.macLo >>> 0);
    f.senderIp = spa >>> 0;
    f.targetMac = thaHi * 0x1_0000_0000 + (thaLo >>> 0);
    f.targetIp = tpa >>> 0;
    emitArp(f, b, ETH_HEADER_LEN);
    core.emit(b);
  }

  /**
   * RFC 5227 §2.3: an announcement, an ARP request whose sender and target IP are both `ip`
   * (int32 or uint32), broadcast, so that neighbours holding an entry for it update it.
   */
  announce(ip: number): void {
    this.send(ARP_OP_REQUEST, BCAST_HI, BCAST_LO, 0, 0, ip | 0, ip | 0);
    this.core.counters.event(L2Event.ArpAnnouncementsSent);
  }

  // ---- probes (RFC 5227 §2.1)

  /**
   * Starts a probe of `addr` (IPv4 u32): `probeCount` requests from 0.0.0.0, evenly spread over
   * `timeoutMs`; `cb(true)` as soon as another host shows it holds or wants the address,
   * `cb(false)` after `timeoutMs` without sign of one. Called exactly once, on a frame or a
   * timer and never inside this call, unless the adapter closes first (then never: `cancelProbes`).
   * @throws {PktError} ERR_PKT_LIMIT when MAX_PROBES are already running.
   */
  probe(addr: number, cb: (inUse: boolean) => void, timeoutMs: number): void {
    if (this.probes.length >= MAX_PROBES) {
      throw new PktError('ERR_PKT_LIMIT', `L2Adapter.probe: at most ${MAX_PROBES} probes may run at once`);
    }
    const p = new ArpProbe(this, addr, cb, this.probeCount, timeoutMs);
    this.probes.push(p);
    // The first probe leaves on a 0 ms timer, so that an answer can never call `cb` inside the
    // caller's `probe()` (RFC 5227 §2.1.1 even asks for a random wait of up to PROBE_WAIT).
    p.timer = this.clock.setTimer(p.fire, 0);
  }

  /** @internal A probe's timer: the next probe, or the verdict "free". */
  probeTimer(p: ArpProbe): void {
    p.timer = null;
    if (p.sent < p.count) {
      p.sent++;
      this.send(ARP_OP_REQUEST, BCAST_HI, BCAST_LO, 0, 0, 0, p.addr);
      this.core.counters.event(L2Event.ArpProbesSent);
      // The probe may have ended while its frame was out (a synchronous answer).
      if (this.probes.includes(p)) p.timer = this.clock.setTimer(p.fire, p.intervalMs);
      return;
    }
    this.finish(p, false);
  }

  private checkProbes(op: number, spa: number, tpa: number): void {
    for (let i = this.probes.length - 1; i >= 0; i--) {
      const p = this.probes[i];
      if (p === undefined) continue;
      // §2.1.1: any ARP packet whose sender IP is the address probed, or a probe (request from
      // 0.0.0.0) for it from another host (our own were dropped as loops before this).
      if (spa === p.addr || (op === ARP_OP_REQUEST && spa === 0 && tpa === p.addr)) this.finish(p, true);
    }
  }

  private finish(p: ArpProbe, inUse: boolean): void {
    const i = this.probes.indexOf(p);
    if (i === -1) return;
    this.probes.splice(i, 1);
    if (p.timer !== null) this.clock.clearTimer(p.timer);
    p.timer = null;
    p.cb(inUse);
  }

  /** Cancels every probe without calling back (the adapter is closing). */
  cancelProbes(): void {
    for (const p of this.probes.splice(0)) {
      if (p.timer !== null) this.clock.clearTimer(p.timer);
      p.timer = null;
    }
  }
}
