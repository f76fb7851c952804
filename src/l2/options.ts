/**
 * The L2Adapter's options, their defaults and checks (cold path: construction only), and the
 * modified EUI-64 link-local address (RFC 4291 App. A).
 */

import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { PktTypeError, intInRange } from '../errors.js';
import { IpAddr, IpPrefix, formatMac, randomLocalMac, toMac } from '../wire/addr.js';
import type { DhcpClientFactory } from './dhcp-hook.js';
import type { NeighborTableConfig } from './neighbor-table.js';

/** Options of `new L2Adapter`. Times in ms. */
export interface L2AdapterOptions {
  /** The MAC (48-bit number or text); default a random locally administered unicast MAC. */
  mac?: number | string;
  /** Time source (default the system clock). */
  clock?: Clock;
  /** Randomness in [0, 1) (MAC, ReachableTime jitter, DHCP); default Math.random. */
  random?: () => number;
  /** Adds the EUI-64 link-local fe80::/64 address (default true). */
  linkLocal?: boolean;
  /** Makes the DHCP client that `startDHCP()` starts. */
  dhcp?: DhcpClientFactory;
  /** Entries per cache, ARP and neighbour each (default 4096). */
  maxNeighbors?: number;
  /** Packets queued per unresolved next hop (default 16). */
  maxPendingPerDest?: number;
  /** Packets queued for resolution in all, per cache (default 256). */
  maxPendingTotal?: number;
  /** RFC 4861 BaseReachableTime (default 30000); the ReachableTime used is 0.5-1.5 times it. */
  reachableMs?: number;
  /** RFC 4861 RetransTimer: between solicitations (default 1000). */
  retransMs?: number;
  /** RFC 4861 DELAY_FIRST_PROBE_TIME (default 5000). */
  delayFirstProbeMs?: number;
  /** How long an unused STALE entry stays (default 60000). */
  staleMs?: number;
  /** MAX_MULTICAST_SOLICIT (default 3): requests before resolution fails. */
  maxMulticastSolicit?: number;
  /** MAX_UNICAST_SOLICIT (default 3): unicast probes before a stale entry is dropped. */
  maxUnicastSolicit?: number;
  /** ARP probes per `probe()` (default 3, RFC 5227 PROBE_NUM). */
  probeCount?: number;
  /** Default duration of a `probe()` (default 3000). */
  probeTimeoutMs?: number;
  /** Gratuitous ARP announcements per new IPv4 address (default 2, RFC 5227 ANNOUNCE_NUM; 0: none). */
  announceCount?: number;
}

/** A neighbour cache entry as `neighbors()` shows it. */
export interface L2NeighborInfo {
  addr: IpAddr;
  mac: number;
  state: string;
}

/** The options with their defaults applied and checked. */
export interface ResolvedOptions {
  mac: number;
  clock: Clock;
  random: () => number;
  linkLocal: boolean;
  dhcp: DhcpClientFactory | null;
  table: NeighborTableConfig;
  probeCount: number;
  probeTimeoutMs: number;
  announceCount: number;
}

const MAX_MS = 2 ** 31 - 1;

/**
 * Applies defaults and checks every option.
 * @throws {PktTypeError} on a malformed or group MAC; {PktRangeError} on a number out of range.
 */
export function resolveOptions(opts: L2AdapterOptions): ResolvedOptions {
  const random = opts.random ?? Math.random;
  const mac =
    opts.mac === undefined
      ? randomLocalMac((b) => {
          for (let i = 0; i < b.length; i++) b[i] = Math.floor(random() * 256) & 0xff;
        })
      : toMac(opts.mac);
  if ((Math.floor(mac / 0x100_0000_0000) & 1) === 1) {
    throw new PktTypeError(`L2Adapter: expected a unicast MAC, got the group address ${formatMac(mac)}`, 'ERR_PKT_INVALID_ADDRESS');
  }
  const base = intInRange('L2Adapter reachableMs', opts.reachableMs ?? 30_000, 1, MAX_MS);
  return {
    mac,
    clock: opts.clock ?? systemClock,
    random,
    linkLocal: opts.linkLocal !== false,
    dhcp: opts.dhcp ?? null,
    table: {
      maxEntries: intInRange('L2Adapter maxNeighbors', opts.maxNeighbors ?? 4096, 1, 1 << 20),
      maxPendingPerEntry: intInRange('L2Adapter maxPendingPerDest', opts.maxPendingPerDest ?? 16, 0, 1 << 16),
      maxPendingTotal: intInRange('L2Adapter maxPendingTotal', opts.maxPendingTotal ?? 256, 0, 1 << 20),
      // RFC 4861 §6.3.2: ReachableTime is BaseReachableTime times a random factor in [0.5, 1.5).
      reachableMs: Math.max(1, Math.round(base * (0.5 + random()))),
      retransMs: intInRange('L2Adapter retransMs', opts.retransMs ?? 1000, 1, MAX_MS),
      delayFirstProbeMs: intInRange('L2Adapter delayFirstProbeMs', opts.delayFirstProbeMs ?? 5000, 1, MAX_MS),
      staleMs: intInRange('L2Adapter staleMs', opts.staleMs ?? 60_000, 1, MAX_MS),
      maxMulticastSolicit: intInRange('L2Adapter maxMulticastSolicit', opts.maxMulticastSolicit ?? 3, 1, 255),
      maxUnicastSolicit: intInRange('L2Adapter maxUnicastSolicit', opts.maxUnicastSolicit ?? 3, 1, 255),
    },
    probeCount: intInRange('L2Adapter probeCount', opts.probeCount ?? 3, 1, 16),
    probeTimeoutMs: intInRange('L2Adapter probeTimeoutMs', opts.probeTimeoutMs ?? 3000, 1, MAX_MS),
    announceCount: intInRange('L2Adapter announceCount', opts.announceCount ?? 2, 0, 16),
  };
}

/** RFC 4291 App. A, RFC 4862 §5.3: fe80::/64 with the modified EUI-64 interface identifier of `mac`. */
export function eui64LinkLocal(mac: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  const hi = Math.floor(mac / 0x1_0000_0000);
  const lo = mac >>> 0;
  b[8] = (hi >>> 8) ^ 0x02;
  b[9] = hi & 0xff;
  b[10] = lo >>> 24;
  b[11] = 0xff;
  b[12] = 0xfe;
  b[13] = (lo >>> 16) & 0xff;
  b[14] = (lo >>> 8) & 0xff;
  b[15] = lo & 0xff;
  return b;
}

/** The link-local prefix (fe80::/64) of `mac`. */
export function linkLocalPrefixOf(mac: number): IpPrefix {
  return new IpPrefix(IpAddr.fromBytes(eui64LinkLocal(mac)), 64);
}
