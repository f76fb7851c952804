/**
 * pktkit L2: the L2Adapter, which presents an L3Device (IP packets) as an L2Device (Ethernet
 * frames), with ARP (RFC 826, RFC 5227 probes and announcements), Neighbor Discovery (RFC 4861
 * address resolution and neighbour unreachability detection), gateway routing, and the hook a
 * DHCP client plugs into (dhcp-hook.ts).
 *
 *   const l3 = new PipeL3('10.0.0.2/24');            // any L3Device
 *   const a = new L2Adapter(l3, { mac: '02:00:00:00:00:02' });
 *   a.addAddr('2001:db8::2/64');                     // an IPv6 address beside the device's IPv4 one
 *   a.setGateway('10.0.0.1');                        // and '2001:db8::1' for IPv6
 *   hub.connect(a);                                  // an L2Device like any other
 *
 * Addresses: the adapter answers for the L3 device's address (followed as it changes), the
 * EUI-64 link-local fe80::/64 (unless `linkLocal: false`), and those added with `addAddr`;
 * `addrList` lists them. Off-link traffic goes to the gateway of its family, else is dropped.
 * `probe(addr, cb)` / `probeAsync(addr)` run an RFC 5227 probe; `startDHCP()` runs the client
 * given as the `dhcp` option, whose lease sets the address, gateway and `dnsServers`.
 */

export { L2Adapter } from './adapter.js';
export { eui64LinkLocal, type L2AdapterOptions, type L2NeighborInfo } from './options.js';
export type { DhcpAppliedLease, DhcpClientEngine, DhcpClientFactory, DhcpClientHost } from './dhcp-hook.js';
export { L2DropReason, L2_DROP_REASON_COUNT, L2Event, type L2AdapterStats, type L2EventName } from './stats.js';
export { NudState, NUD_STATE_NAMES } from './neighbor-table.js';
export { MAX_PROBES } from './arp.js';
export { MAX_ADDRS_PER_FAMILY, MAX_GROUPS } from './addrs.js';
