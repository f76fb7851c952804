/**
 * The egress policy of a slirp `Stack`: which real destinations a virtual host may reach.
 *
 * Order of decision for a destination address:
 *   1. an explicit `deny` prefix matches        -> denied
 *   2. an explicit `allow` prefix matches       -> allowed
 *   3. a default denial matches                 -> denied (link-local 169.254.0.0/16 and
 *      fe80::/10, the cloud metadata addresses 169.254.169.254 and fd00:ec2::254, the
 *      unspecified and multicast ranges, and loopback 127.0.0.0/8 and ::1 unless `allowLoopback`)
 *   4. `allow` was given (non-empty)            -> denied (an allow list is exhaustive)
 *   5. otherwise                                -> allowed
 *
 * Checked once per new flow (a TCP SYN, the first datagram of a UDP flow), never per packet of a
 * flow. Allocates nothing per check.
 */

import { IpPrefix } from '../wire/addr.js';

export interface EgressPolicyOptions {
  /** Prefixes that may be reached (when non-empty, only these and nothing else). */
  allow?: readonly string[];
  /** Prefixes that may never be reached (over everything else). */
  deny?: readonly string[];
  /** Let flows reach the host's loopback (127.0.0.0/8, ::1). Default false. */
  allowLoopback?: boolean;
}

/** Denied unless allowed explicitly: link-local, metadata, unspecified, multicast, broadcast. */
const DEFAULT_DENY = ['169.254.0.0/16', '169.254.169.254/32', 'fe80::/10', 'fd00:ec2::254/128', '0.0.0.0/8', '224.0.0.0/3', '::/128', 'ff00::/8'];
const LOOPBACK = ['127.0.0.0/8', '::1/128', '::ffff:127.0.0.0/104'];

function matchV4(list: readonly IpPrefix[], v: number): boolean {
  for (let i = 0; i < list.length; i++) if (list[i]!.containsV4(v)) return true;
  return false;
}

function matchV6(list: readonly IpPrefix[], b: Uint8Array, off: number): boolean {
  for (let i = 0; i < list.length; i++) if (list[i]!.containsV6(b, off)) return true;
  return false;
}

export class EgressPolicy {
  private readonly allow: IpPrefix[];
  private readonly deny: IpPrefix[];
  private readonly defaults: IpPrefix[];
  private readonly exhaustive: boolean;

  /** @throws {PktTypeError} ERR_PKT_INVALID_ADDRESS for a malformed prefix. */
  constructor(opts: EgressPolicyOptions = {}) {
    this.allow = (opts.allow ?? []).map((s) => IpPrefix.parse(s));
    this.deny = (opts.deny ?? []).map((s) => IpPrefix.parse(s));
    this.exhaustive = this.allow.length > 0;
    const defaults = opts.allowLoopback === true ? DEFAULT_DENY : [...DEFAULT_DENY, ...LOOPBACK];
    this.defaults = defaults.map((s) => IpPrefix.parse(s));
  }

  /** May a flow go to the IPv4 address `v` (uint32)? */
  allowsV4(v: number): boolean {
    if (matchV4(this.deny, v)) return false;
    if (matchV4(this.allow, v)) return true;
    if (matchV4(this.defaults, v) || v === 0xffff_ffff) return false;
    return !this.exhaustive;
  }

  /** May a flow go to the IPv6 address at `off` in `b`? */
  allowsV6(b: Uint8Array, off: number): boolean {
    if (matchV6(this.deny, b, off)) return false;
    if (matchV6(this.allow, b, off)) return true;
    if (matchV6(this.defaults, b, off)) return false;
    return !this.exhaustive;
  }
}
