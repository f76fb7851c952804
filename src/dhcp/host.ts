/** The engine's side of the L2Adapter's DHCP hook (defined with the adapter, src/l2/dhcp-hook.ts). */
export type { DhcpAppliedLease, DhcpClientEngine, DhcpClientFactory, DhcpClientHost } from '../l2/dhcp-hook.js';
