/**
 * `pktkit/core`: the device model, Frame and Packet accessors, pools, pipes, wiring, the accept
 * loop, namespaces, the L2 and L3 hubs, counters and injected time.
 */
export * from './device.js';
export { Frame, buildFrame, newFrame, type BuildFrameOptions } from './frame.js';
export { Packet } from './packet.js';
export { BufferPool, type BufferPoolOptions, type BufferPoolStats } from './pool.js';
export { PipeL2, PipeL3 } from './pipe.js';
export { connectL2, connectL3, serve, serveWithDone, type ServeOptions } from './connect.js';
export { Namespaces, type Namespace, type NamespacesOptions } from './namespace.js';
export { MacTable } from './mac-table.js';
export { L2Hub, L2HubHandle, type L2HubOptions, type L2HubStats, type L2HubPortStats } from './l2-hub.js';
export { RouteTable, type Route } from './route-table.js';
export { L3Hub, L3HubHandle, type L3HubOptions, type L3ConnectOptions, type L3HubStats, type L3HubPortStats } from './l3-hub.js';
export { DropReason, DROP_REASON_COUNT, DROP_REASON_NAMES, PortCounters, type PortStats } from './stats.js';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.js';
