/**
 * `pktkit/tuntap`: Linux TUN and TAP devices through the native addon (its `tuntap` feature).
 *
 * - `Tun` (an L3Device) and `Tap` (an L2Device), standalone on any thread: frames are read in
 *   batches when the descriptor is readable (the event loop keeps running), written one per
 *   `send`.
 * - `attachTun` / `attachTap`: the device as a dataplane port, one I/O thread per queue moving
 *   frames between the descriptor and an engine's ring pair in native batches.
 * - `vnetHdr` (TUN): the virtio-net header with checksum and TSO offloads; super-packets of up
 *   to 64 KiB segmented by the addon, or delivered whole (vnet.ts).
 * - `Iface`: the interface's configuration over rtnetlink (link state, MTU, MAC, addresses,
 *   routes, network namespace).
 *
 * Needs root or CAP_NET_ADMIN (and CAP_SYS_ADMIN to enter another network namespace). Without
 * the addon every entry point throws a PktError with code ERR_PKT_NATIVE_UNAVAILABLE.
 */
export { Tap, Tun, type DeviceOptions } from './device.js';
export { TunTapPort, attachTap, attachTun, type AttachOptions, type PortRingOptions, type TunTapPortStats } from './attach.js';
export { Iface, netnsPath, type InterfaceOptions, type LinkState, type NetnsRef, type RouteSpec } from './iface.js';
export { IoStat, type TunTapStats } from './native.js';
export {
  TunOffload,
  VNET_F_DATA_VALID,
  VNET_F_NEEDS_CSUM,
  VnetGso,
  newVnetHdrFields,
  offloadNames,
  readVnetHdr,
  type VnetHdrFields,
  type VnetHdrOptions,
} from './vnet.js';
