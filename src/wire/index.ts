/**
 * `pktkit/wire`: zero-copy views and parse/emit codecs for the formats pktkit speaks, with no
 * state and no node: imports. Each module's header names its RFC sections and what it leaves out.
 */
export * from './bytes.js';
export * from './status.js';
export * from './checksum.js';
export * from './options.js';
export * from './addr.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmp-header.js';
export * from './icmpv4.js';
export * from './icmpv6.js';
export * from './ndp.js';
export * from './ndp-options.js';
export * from './udp.js';
export * from './tcp.js';
export * from './dhcp.js';
export * from './dns.js';
export * from './dns-name.js';
export * from './dns-codec.js';
