/**
 * pktkit/vclient: a virtual host on an L3 link.
 *
 *   Client          an L3Device with a TCP stack (dial, listen), UDP sockets, ICMP echo answers
 *   Resolver        its DNS stub resolver (A, AAAA, retries, answers checked, CNAME chains, cache)
 *   UdpSocket       a dgram-shaped UDP socket of a Client
 *   HTTP            createDispatcher / createFetch (undici), VirtualHttpAgent / VirtualHttpsAgent (node:http)
 */
export { Client, ClientDrop, splitHostPort, type ClientOptions, type ClientDialOptions, type ClientStats } from './client.js';
export { Resolver, DnsError, DNS_PORT, type ResolverOptions, type ResolverStats, type LookupAddress, type LookupOptions, type DnsErrorCode } from './dns.js';
export { UdpSocket, type RemoteInfo, type UdpSocketOptions } from './udp.js';
export { createDispatcher, createFetch, VirtualHttpAgent, VirtualHttpsAgent, type DispatcherOptions, type VirtualFetch } from './http.js';
export { installSocketShape, type SocketShape, type VConn } from './socket-shape.js';
