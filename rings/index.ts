/**
 * Lock-free single-producer single-consumer rings over SharedArrayBuffer, the links between
 * worker threads, and what they need: doorbells to park and wake consumers, descriptor rings and
 * a shared frame pool for zero-copy hand-offs. No imports from the engines in src/.
 */
export { DOORBELL_BYTES, Doorbell } from './doorbell.js';
export {
  RingConsumer,
  RingProducer,
  RingStat,
  closeRing,
  createRing,
  ringStats,
  type ProducerOptions,
  type RingDescriptor,
  type RingHandler,
  type RingOptions,
  type RingPolicy,
} from './spsc-ring.js';
export {
  IndexConsumer,
  IndexProducer,
  IndexRingStat,
  closeIndexRing,
  createIndexRing,
  descLen,
  descOff,
  indexRingStats,
  packDesc,
  pendingDescriptors,
  type IndexHandler,
  type IndexRingDescriptor,
} from './index-ring.js';
export { FramePoolOwner, FramePoolView, MAX_FRAME_SIZE, createFramePool, type FramePoolDescriptor } from './frame-pool.js';
