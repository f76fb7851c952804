/**
 * `pktkit/udp`: batched UDP sockets (recvmmsg/sendmmsg with GSO and GRO) over the native addon's
 * `udp` feature, for servers with many peers on one socket (WireGuard, OpenVPN).
 */
export { ADDR_WORDS, AddrWord, UdpAddrView, UdpEndpoint, copyRecord, type UdpEndpointLike } from './address.js';
export { UdpSocket, createUdpBuffers, type UdpBuffers, type UdpHandler, type UdpSocketOptions, type UdpSocketStats } from './socket.js';
