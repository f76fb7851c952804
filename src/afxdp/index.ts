/**
 * `pktkit/afxdp`: AF_XDP sockets as L2 devices (the native addon's `xdp` feature): the UMEM in a
 * SharedArrayBuffer, the XDP redirect program loaded and attached by the addon itself.
 */
export { AfXdpDevice, type AfXdpInfo, type AfXdpOptions, type AfXdpStats } from './device.js';
