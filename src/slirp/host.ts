/**
 * The vocabulary the slirp files share with their `Stack` (stack.ts): drop reasons, limits,
 * counters, the socket factory. It imports no other slirp file; what each part needs of the Stack
 * is an interface beside that part (`SlirpHost` in space.ts, `UdpHost` in udp.ts, `DnsHost` in
 * dns.ts), so that none of them imports stack.ts.
 */

import type * as net from 'node:net';

/** Why the slirp Stack dropped a packet or refused a flow: the keys of `SlirpStats.drops`. */
export const SlirpDrop = {
  truncated: 'truncated',
  badVersion: 'badVersion',
  badHeader: 'badHeader',
  badChecksum: 'badChecksum',
  fragment: 'fragment',
  /** Broadcast or multicast destination (never proxied). */
  broadcast: 'broadcast',
  /** To the Stack's own address, for a service it does not offer. */
  ownAddr: 'ownAddr',
  /** Denied by the egress policy. */
  policy: 'policy',
  /** Flows per namespace at their limit. */
  flowLimit: 'flowLimit',
  /** ICMP other than an Echo Request (errors, timestamps...): never forwarded. */
  icmp: 'icmp',
  /** Echo to another destination with no ICMP socket to send it (no addon, refused by net.ipv4.ping_group_range, or `icmp.forward: false`). */
  echoUnavailable: 'echoUnavailable',
  /** Echo Requests in flight per namespace and family at their limit (`icmp.maxEchoes`). */
  echoLimit: 'echoLimit',
  /** An Echo Request or Reply larger than `icmp.maxMessage`. */
  echoTooBig: 'echoTooBig',
  /** A reply from the real side matching no request in flight (forgotten, or from another address). */
  echoStale: 'echoStale',
  /** A protocol other than TCP, UDP, ICMP. */
  protocol: 'protocol',
  badUdp: 'badUdp',
  /** A datagram the real socket could not take. */
  sendFailed: 'sendFailed',
  /** DNS: a datagram to the virtual resolver that is not a query with one well-formed question. */
  dnsBadQuery: 'dnsBadQuery',
  /** DNS: the virtual host asked again (same source, port and id) while the query was in flight. */
  dnsDuplicate: 'dnsDuplicate',
  /** DNS: queries in flight at `dnsMaxPending`. */
  dnsPendingFull: 'dnsPendingFull',
  /** DNS: a reply from an address or port other than the server asked. */
  dnsWrongServer: 'dnsWrongServer',
  /** DNS: a reply from the server asked whose id, QR bit or question does not match the query. */
  dnsBadReply: 'dnsBadReply',
  /** After close(). */
  closed: 'closed',
} as const;
export type SlirpDrop = (typeof SlirpDrop)[keyof typeof SlirpDrop];

export interface SlirpLimits {
  /** Flows (dials, TCP, UDP) per namespace at most. */
  maxFlows: number;
  /** Bytes of each Tcb's send and receive buffers. */
  tcpBuffer: number;
  /** High-water mark of each stream (the Conn's and the socket's). */
  streamBuffer: number;
  /** A dial that has not connected after this long fails with ICMP unreachable. */
  dialTimeoutMs: number;
  /** A UDP flow idle this long is closed. */
  udpIdleMs: number;
}

export interface SlirpCounters {
  dials: number;
  dialsOk: number;
  dialsRefused: number;
  dialsFailed: number;
  dialsTimedOut: number;
  synRetransmits: number;
  bytesToReal: number;
  bytesFromReal: number;
  resetsFromVirtual: number;
  resetsFromReal: number;
  udpFlows: number;
  udpExpired: number;
  datagramsOut: number;
  datagramsIn: number;
  /** Echo Replies sent to virtual hosts (answered by the Stack or come back through an ICMP socket). */
  echoReplies: number;
  /** Echo Requests sent on through ICMP sockets, and those forgotten unanswered (`icmp.timeoutMs`). */
  echoForwarded: number;
  echoExpired: number;
  unreachablesSent: number;
  /** DNS queries forwarded, answers relayed, resends to another server after a timeout, attempts that timed out, queries given up. */
  dnsQueries: number;
  dnsAnswers: number;
  dnsRetries: number;
  dnsServerTimeouts: number;
  dnsFailed: number;
}

export type ConnectFn = (opts: net.NetConnectOpts & { host: string; port: number }) => net.Socket;
