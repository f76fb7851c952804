/**
 * DhcpClient configuration and the values it hands out: its states, its options (checked once,
 * at construction or in `createDhcpClient`), the lease it holds, and its statistics.
 */

import { PktRangeError, PktTypeError } from '../errors.js';
import { parseIPv4 } from '../wire/addr.js';
import { DHCP_FLAG_BROADCAST } from '../wire/dhcp.js';
import { DhcpOption } from '../wire/dhcp-options.js';
import type { DhcpCounterStats } from './frame.js';

export const DhcpClientState = {
  Stopped: 'stopped',
  Init: 'init',
  Selecting: 'selecting',
  Requesting: 'requesting',
  Rebooting: 'rebooting',
  Probing: 'probing',
  Bound: 'bound',
  Renewing: 'renewing',
  Rebinding: 'rebinding',
} as const;
export type DhcpClientState = (typeof DhcpClientState)[keyof typeof DhcpClientState];

export interface DhcpClientOptions {
  /** Option 12, ASCII, at most 255 characters. */
  hostname?: string;
  /**
   * Option 61 (RFC 2132 §9.14): bytes as sent (type byte first), or text sent as type 0
   * followed by its ASCII bytes. Absent: none (servers key the lease by chaddr).
   */
  clientId?: Uint8Array | string;
  /** An address to ask for first, from a previous lease (INIT-REBOOT, RFC 2131 §3.2). */
  requestedAddr?: number | string;
  /** Sets the BROADCAST flag, for hosts that cannot take unicast before they have an address. */
  broadcastFlag?: boolean;
  /** Option 55 (default: 1, 3, 6, 15, 51, 58, 59). */
  paramRequestList?: readonly number[];
  /** Wait after a NAK before the new DISCOVER, in ms (default 1000). */
  nakDelayMs?: number;
  /** Wait after a DECLINE before the new DISCOVER, in ms (default 10000, RFC 2131 §3.1). */
  declineDelayMs?: number;
  /** If the ARP probe has not answered by then, the address is taken as free (default 5000 ms). */
  probeTimeoutMs?: number;
  /** REQUESTs sent in REQUESTING or REBOOTING before going back to INIT (default 4). */
  maxRequestTries?: number;
  /** Send a RELEASE on `stop()` while holding a lease (default true). */
  releaseOnStop?: boolean;
}

/** A lease held by the client. Times in ms on the host's clock; Infinity for an infinite lease. */
export interface DhcpLease {
  addr: number;
  prefixLen: number;
  router: number | null;
  dns: number[];
  domain: string;
  /** Option 54 of the ACK: where renewals go. */
  serverId: number;
  /** Ethernet source of the ACK: the server's (or a relay's) MAC, for unicast renewals. */
  serverMac: number;
  leaseSecs: number;
  t1Secs: number;
  t2Secs: number;
  startedAt: number;
  renewAt: number;
  rebindAt: number;
  expiresAt: number;
}

export type DhcpLeaseListener = (lease: DhcpLease | null) => void;

export interface DhcpClientStats extends DhcpCounterStats {
  state: DhcpClientState;
  /** Leases bound (first ACKs), renewals and rebinds ACKed, leases expired, NAKs and DECLINEs. */
  bound: number;
  renewed: number;
  rebound: number;
  expired: number;
  naks: number;
  declines: number;
  retransmits: number;
}

/** The checked options. */
export interface ClientConfig {
  hostname: string;
  clientId: Uint8Array;
  requestedAddr: number;
  flags: number;
  params: Uint8Array;
  nakDelayMs: number;
  declineDelayMs: number;
  probeTimeoutMs: number;
  maxRequestTries: number;
  releaseOnStop: boolean;
}

const CLIENT_ID_TYPE_TEXT = 0;
const OPT_MAX_LEN = 255;
const DEFAULT_PARAMS = [
  DhcpOption.SubnetMask,
  DhcpOption.Router,
  DhcpOption.DnsServer,
  DhcpOption.DomainName,
  DhcpOption.LeaseTime,
  DhcpOption.RenewalTime,
  DhcpOption.RebindingTime,
];

function ascii(name: string, s: string): string {
  if (s.length > OPT_MAX_LEN || !/^[\x20-\x7e]*$/.test(s)) {
    throw new PktTypeError(`DhcpClient ${name}: expected at most ${OPT_MAX_LEN} printable ASCII characters, got ${JSON.stringify(s)}`);
  }
  return s;
}

function clientIdBytes(id: Uint8Array | string | undefined): Uint8Array {
  if (id === undefined) return new Uint8Array(0);
  if (typeof id === 'string') {
    const text = ascii('clientId', id);
    const b = new Uint8Array(text.length + 1);
    b[0] = CLIENT_ID_TYPE_TEXT;
    for (let i = 0; i < text.length; i++) b[i + 1] = text.charCodeAt(i);
    return b;
  }
  if (!(id instanceof Uint8Array) || id.length < 2 || id.length > OPT_MAX_LEN) {
    throw new PktTypeError(`DhcpClient clientId: expected 2 to ${OPT_MAX_LEN} bytes (type then id)`);
  }
  return id.slice();
}

function msOption(name: string, v: number | undefined, def: number): number {
  const x = v ?? def;
  if (!Number.isFinite(x) || x < 0) throw new PktRangeError(`DhcpClient ${name}: expected a duration in ms >= 0, got ${String(x)}`);
  return x;
}

/**
 * Checks `opts` and returns the configuration.
 * @throws {PktTypeError} for text that is not printable ASCII or too long, a client id of the
 *   wrong size, or an address that does not parse.
 * @throws {PktRangeError} for a negative duration, an empty or too long parameter list, or
 *   `maxRequestTries` below 1.
 */
export function parseClientOptions(opts: DhcpClientOptions): ClientConfig {
  const params = opts.paramRequestList ?? DEFAULT_PARAMS;
  if (params.length === 0 || params.length > OPT_MAX_LEN) {
    throw new PktRangeError(`DhcpClient paramRequestList: expected 1 to ${OPT_MAX_LEN} codes, got ${params.length}`);
  }
  const maxRequestTries = opts.maxRequestTries ?? 4;
  if (!Number.isInteger(maxRequestTries) || maxRequestTries < 1) {
    throw new PktRangeError(`DhcpClient maxRequestTries: expected an integer >= 1, got ${String(maxRequestTries)}`);
  }
  const req = opts.requestedAddr;
  return {
    hostname: ascii('hostname', opts.hostname ?? ''),
    clientId: clientIdBytes(opts.clientId),
    requestedAddr: req === undefined ? 0 : typeof req === 'string' ? parseIPv4(req) : req >>> 0,
    flags: opts.broadcastFlag === true ? DHCP_FLAG_BROADCAST : 0,
    params: Uint8Array.from(params),
    nakDelayMs: msOption('nakDelayMs', opts.nakDelayMs, 1000),
    declineDelayMs: msOption('declineDelayMs', opts.declineDelayMs, 10_000),
    probeTimeoutMs: msOption('probeTimeoutMs', opts.probeTimeoutMs, 5000),
    maxRequestTries,
    releaseOnStop: opts.releaseOnStop ?? true,
  };
}
