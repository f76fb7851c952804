/**
 * `pktkit`: zero-copy L2/L3 packet toolkit for Node.js.
 *
 * The root entry point exports what a user of the Go README looks for first: the device model,
 * hubs, pipes, wiring, Frame/Packet accessors, checksums, addresses and errors. Protocol codecs
 * live under `pktkit/wire`, capture under `pktkit/capture`; the L2Adapter and the DHCP server are
 * here too (their modules, with the rest, are `pktkit/l2` and `pktkit/dhcp`).
 */
export * from './core/index.js';
export { L2Adapter, type L2AdapterOptions, type L2AdapterStats } from './l2/index.js';
export { DHCPServer, createDhcpClient, type DHCPServerOptions, type DHCPServerStats, type DhcpClientOptions } from './dhcp/index.js';
export * from './errors.js';
export {
  BROADCAST_MAC,
  IpAddr,
  IpPrefix,
  formatIPv4,
  formatIPv6,
  formatMac,
  isGroupMac,
  parseIPv4,
  parseIPv6,
  parseMac,
  randomLocalMac,
} from './wire/addr.js';
export {
  checksum,
  checksumAdjust,
  checksumUpdate16,
  checksumUpdate32,
  combineChecksums,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  sum16,
  transportChecksumV4,
  transportChecksumV6,
} from './wire/checksum.js';
export { EtherType } from './wire/ethernet.js';
export { IpProto } from './wire/ipv4.js';
export { WireStatus, WIRE_STATUS_NAMES } from './wire/status.js';
export { pseudoHeaderChecksum } from './core/checksum.js';
