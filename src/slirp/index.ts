/**
 * pktkit/slirp: a userspace NAT from a virtual IP network to the host's real sockets.
 * See stack.ts for the design and what is not supported.
 */
export { Stack, SlirpDrop, type SlirpOptions, type SlirpStats, type SlirpLimits } from './stack.js';
export { PortForward, type ForwardOptions, type ForwardStats } from './forward.js';
export { EgressPolicy, type EgressPolicyOptions } from './policy.js';
