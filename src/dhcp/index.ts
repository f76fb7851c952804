/**
 * `pktkit/dhcp`: a DHCPv4 client engine (sans-I/O, hosted by an L2 adapter) and a DHCP server
 * that is an L2Device (RFC 2131, RFC 2132). The message codec is in `pktkit/wire` (dhcp.ts).
 */
export {
  DhcpClient,
  DhcpClientState,
  createDhcpClient,
  type DhcpClientOptions,
  type DhcpClientStats,
  type DhcpLease,
  type DhcpLeaseListener,
} from './client.js';
export type { DhcpAppliedLease, DhcpClientEngine, DhcpClientFactory, DhcpClientHost } from './host.js';
export { DHCPServer, type DHCPServerStats } from './server.js';
export type { DHCPServerOptions } from './server-config.js';
export type { DhcpLeaseRecord, DhcpLeaseStore } from './lease-table.js';
export { DHCP_DROP_NAMES, DhcpDrop, buildDhcpFrame, DhcpFrameReader, type DhcpCounterStats, type DhcpFrameAddrs } from './frame.js';
