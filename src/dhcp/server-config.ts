/**
 * DHCPServer configuration: the options a user writes (strings accepted for addresses), checked
 * once and turned into numbers. Nothing here runs per message.
 */

import { ConfigError, PktRangeError, PktTypeError } from '../errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseIPv4, toMac } from '../wire/addr.js';
import { maskToPrefixLen, prefixLenToMask } from './frame.js';
import type { DhcpLeaseStore } from './lease-table.js';

export interface DHCPServerOptions {
  /** The server's own address: option 54 and the source of every reply. */
  serverIp: string | number;
  /** The subnet, as a mask (`'255.255.255.0'`) or a prefix length; default /24. */
  subnetMask?: string | number;
  prefixLen?: number;
  /** First and last address of the pool (inclusive), inside the subnet. */
  rangeStart: string | number;
  rangeEnd: string | number;
  /** Option 3 (none when absent). */
  router?: string | number | null;
  /** Option 6, in order. */
  dns?: readonly (string | number)[];
  /** Option 15. */
  domain?: string;
  /** Lease length in seconds (default 3600). */
  leaseSecs?: number;
  /** T1 and T2 sent as options 58 and 59 (default 0.5 and 0.875 of the lease). */
  renewalSecs?: number;
  rebindingSecs?: number;
  /** The server's MAC (default 02:dd:cc:00:00:01, as the Go original). */
  mac?: string | number;
  /** Addresses reserved for MACs: always given to that MAC, never to another. */
  staticLeases?: ReadonlyMap<string | number, string | number> | Readonly<Record<string, string | number>>;
  /** Time source for lease expiry and the prune timer (default the system clock). */
  clock?: Clock;
  /** Unix time in ms, for the expiry times written to the store (default Date.now). */
  epochMs?: () => number;
  /** Persists bound leases across restarts (see DhcpLeaseStore). */
  store?: DhcpLeaseStore;
  /** Most entries (offers and leases) the table holds (default 1024). */
  maxLeases?: number;
  /** How long an OFFER reserves its address for the client, in ms (default 60000). */
  offerHoldMs?: number;
  /** How long a DECLINEd address stays out of the pool, in ms (default 600000). */
  declineHoldMs?: number;
  /** How often expired entries are pruned, in ms (default 60000). */
  pruneIntervalMs?: number;
  /** Answer ARP requests for `serverIp`, so that renewing clients can reach it (default true). */
  answerArp?: boolean;
}

/** The checked configuration, addresses as u32 and MACs as 48-bit numbers. */
export interface ServerConfig {
  serverIp: number;
  prefixLen: number;
  mask: number;
  network: number;
  broadcast: number;
  rangeStart: number;
  rangeEnd: number;
  router: number;
  dns: number[];
  domain: string;
  leaseSecs: number;
  renewalSecs: number;
  rebindingSecs: number;
  mac: number;
  /** MAC -> address, and address -> MAC. */
  staticByMac: Map<number, number>;
  staticByAddr: Map<number, number>;
  clock: Clock;
  epochMs: () => number;
  store: DhcpLeaseStore | null;
  maxLeases: number;
  offerHoldMs: number;
  declineHoldMs: number;
  pruneIntervalMs: number;
  answerArp: boolean;
}

const DEFAULT_MAC = 0x02dd_cc00_0001;
const DEFAULT_PREFIX_LEN = 24;
const MAX_LEASE_SECS = 0xffff_fffe; // 0xffffffff means infinite: not offered
const MAX_OPTION_ADDRS = 63; // 255 bytes of an option / 4

function addr(name: string, v: string | number): number {
  if (typeof v === 'string') return parseIPv4(v);
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new PktTypeError(`DHCPServer ${name}: expected an IPv4 address, got ${String(v)}`, 'ERR_PKT_INVALID_ADDRESS');
  }
  return v;
}

function intOpt(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new PktRangeError(`DHCPServer ${name}: expected an integer in [${min}, ${max}], got ${String(x)}`);
  }
  return x;
}

/**
 * Checks `o` and returns the numeric configuration.
 * @throws {PktTypeError} for an address or MAC that does not parse.
 * @throws {PktRangeError} for a number out of range.
 * @throws {ConfigError} when the parts disagree (the pool outside the subnet, say).
 */
export function parseServerConfig(o: DHCPServerOptions): ServerConfig {
  const serverIp = addr('serverIp', o.serverIp);
  let prefixLen: number;
  if (o.prefixLen !== undefined) {
    prefixLen = intOpt('prefixLen', o.prefixLen, DEFAULT_PREFIX_LEN, 1, 30);
  } else if (o.subnetMask !== undefined) {
    prefixLen = maskToPrefixLen(addr('subnetMask', o.subnetMask));
    if (prefixLen < 1 || prefixLen > 30) {
      throw new ConfigError(`DHCPServer subnetMask: expected a contiguous mask from /1 to /30, got ${String(o.subnetMask)}`);
    }
  } else {
    prefixLen = DEFAULT_PREFIX_LEN;
  }
  const mask = prefixLenToMask(prefixLen);
  const network = (serverIp & mask) >>> 0;
  const broadcast = (network | ~mask) >>> 0;
  const inHostRange = (a: number): boolean => ((a & mask) >>> 0) === network && a !== network && a !== broadcast;
  if (!inHostRange(serverIp)) {
    throw new ConfigError(`DHCPServer serverIp: ${String(o.serverIp)} is a network or broadcast address of its /${prefixLen}`);
  }
  const rangeStart = addr('rangeStart', o.rangeStart);
  const rangeEnd = addr('rangeEnd', o.rangeEnd);
  if (!inHostRange(rangeStart) || !inHostRange(rangeEnd) || rangeStart > rangeEnd) {
    throw new ConfigError(
      `DHCPServer range: expected rangeStart <= rangeEnd, both hosts of the server's /${prefixLen}, ` +
        `got ${String(o.rangeStart)}-${String(o.rangeEnd)}`,
    );
  }
  const router = o.router === undefined || o.router === null ? 0 : addr('router', o.router);
  const dns = (o.dns ?? []).map((d, i) => addr(`dns[${i}]`, d));
  if (dns.length > MAX_OPTION_ADDRS) {
    throw new PktRangeError(`DHCPServer dns: expected at most ${MAX_OPTION_ADDRS} servers, got ${dns.length}`);
  }
  const domain = o.domain ?? '';
  if (domain.length > 255 || !/^[\x21-\x7e]*$/.test(domain)) {
    throw new PktTypeError(`DHCPServer domain: expected at most 255 printable ASCII characters, got ${JSON.stringify(domain)}`);
  }
  const leaseSecs = intOpt('leaseSecs', o.leaseSecs, 3600, 1, MAX_LEASE_SECS);
  const rebindingSecs = intOpt('rebindingSecs', o.rebindingSecs, Math.floor(leaseSecs * 0.875), 0, leaseSecs);
  const renewalSecs = intOpt('renewalSecs', o.renewalSecs, Math.min(Math.floor(leaseSecs * 0.5), rebindingSecs), 0, rebindingSecs);
  const staticByMac = new Map<number, number>();
  const staticByAddr = new Map<number, number>();
  const entries = o.staticLeases === undefined ? [] : o.staticLeases instanceof Map ? [...o.staticLeases] : Object.entries(o.staticLeases);
  for (const [m, a] of entries) {
    const mac = toMac(m);
    const ip = addr(`staticLeases[${String(m)}]`, a);
    if (!inHostRange(ip) || ip === serverIp) {
      throw new ConfigError(`DHCPServer staticLeases: ${String(a)} for ${String(m)} is not a free host address of the subnet`);
    }
    if (staticByAddr.has(ip)) throw new ConfigError(`DHCPServer staticLeases: ${String(a)} is reserved twice`);
    staticByMac.set(mac, ip);
    staticByAddr.set(ip, mac);
  }
  return {
    serverIp,
    prefixLen,
    mask,
    network,
    broadcast,
    rangeStart,
    rangeEnd,
    router,
    dns,
    domain,
    leaseSecs,
    renewalSecs,
    rebindingSecs,
    mac: o.mac === undefined ? DEFAULT_MAC : toMac(o.mac),
    staticByMac,
    staticByAddr,
    clock: o.clock ?? systemClock,
    epochMs: o.epochMs ?? Date.now,
    store: o.store ?? null,
    maxLeases: intOpt('maxLeases', o.maxLeases, 1024, 1, 1 << 20),
    offerHoldMs: intOpt('offerHoldMs', o.offerHoldMs, 60_000, 0, 2 ** 31 - 1),
    declineHoldMs: intOpt('declineHoldMs', o.declineHoldMs, 600_000, 0, 2 ** 31 - 1),
    pruneIntervalMs: intOpt('pruneIntervalMs', o.pruneIntervalMs, 60_000, 1000, 2 ** 31 - 1),
    answerArp: o.answerArp ?? true,
  };
}
