/**
 * `pktkit/dataplane`: the multi-core dataplane. A control thread (`Dataplane`) owns the topology;
 * long-lived port workers run the engines and pass frames to each other through SPSC rings in
 * shared memory (byte rings, or zero-copy links whose frames stay in the workers' frame pools:
 * `ctx.allocFrame`, `link(a, b, { zeroCopy: true })`); a piscina pool (`dp.tasks`) runs stateless
 * CPU jobs.
 *
 * Plugin modules add engine kinds: each URL in `modules` is imported in every port worker and its
 * default export, a `DataplaneModule`, calls `registry.define(kind, { layer, create })`.
 */
export { Dataplane } from './dataplane.js';
export { openExternalPort, type ExternalPortEnd, type OpenedExternalPort } from './external-port.js';
export { WorkerDeadError } from './errors.js';
export { RingL2Device, RingL3Device, type PublishHook, type RingDeviceOptions } from './ring-device.js';
export { DirectL2Device, DirectL3Device } from './direct-device.js';
export { ZeroCopyL2Device, ZeroCopyL3Device, type ZeroCopyDeviceOptions } from './zero-copy-device.js';
export { TaskPool } from './task-pool.js';
export { TASK_NAMES, x25519Keypair, type TaskMap, type TaskName, type X25519KeyPair } from './tasks.js';
export type {
  AttachInfo,
  DataplaneModule,
  DataplaneOptions,
  DataplaneStats,
  Engine,
  EngineContext,
  EngineDefinition,
  EngineRef,
  EngineRegistry,
  EngineSpec,
  EngineStatsEntry,
  ExternalPortOptions,
  FramePoolOptions,
  FramePoolStats,
  L2HubSpec,
  L3HubSpec,
  Layer,
  LinkMode,
  LinkOptions,
  LinkRef,
  LinkStats,
  Placement,
  PluginEngineSpec,
  RingDirectionStats,
  RunLoopStats,
  WorkerErrorEvent,
  WorkerStats,
  ZeroCopyDirectionStats,
} from './types.js';
/**
 * The plugin module that defines the `wg` engine kind (a WireGuard device whose batched UDP socket
 * lives in its port worker, or with `nat` a concentrator with a slirp namespace per peer):
 * `new Dataplane({ modules: [WG_ENGINE_MODULE] })`. A URL, so that
 * loading the dataplane does not load WireGuard.
 */
export const WG_ENGINE_MODULE = new URL('./wg-engine.js', import.meta.url).href;
export type { WgAcceptUnknown, WgEngineOptions, WgNatOptions } from './wg-engine.js';
