/**
 * The options of `Dataplane.link`, checked on the control thread before anything is created:
 * byte-ring geometry and back-pressure, the zero-copy switch (zero-copy-control.ts checks what a
 * zero-copy link refuses), and the addresses of layer-3 ends.
 */

import { ConfigError, PktRangeError, PktTypeError, intInRange } from '../errors.js';
import { IpPrefix } from '../wire/addr.js';
import type { Layer, LinkOptions } from './types.js';
import { checkZeroCopyOptions } from './zero-copy-control.js';

const DEFAULT_SLOTS = 1024;
const DEFAULT_SLOT_SIZE = 2048;
const DEFAULT_HEADROOM = 64;
const DEFAULT_MAX_WAIT_MS = 10;

/** The checked options of one link. */
export interface LinkConfig {
  zeroCopy: boolean;
  /** A zero-copy link's ring slots as given (undefined: sized to the pools). */
  zcSlots: number | undefined;
  policy: 'drop' | 'wait';
  slots: number;
  slotSize: number;
  headroom: number;
  maxWaitMs: number;
  addrA: string | null;
  addrB: string | null;
}

const LINK_OPTION_KEYS = ['zeroCopy', 'policy', 'slots', 'slotSize', 'headroom', 'maxWaitMs', 'addr'];

/**
 * Checks `opts` for a link between engines of `layer`.
 * @throws {PktTypeError} for a malformed option; {PktRangeError} for one out of range;
 * {ConfigError} for options that do not go together.
 */
export function checkLinkOptions(opts: LinkOptions, layer: Layer): LinkConfig {
  if (opts === null || typeof opts !== 'object') throw new PktTypeError(`dataplane.link: expected options to be an object, got ${opts === null ? 'null' : typeof opts}`);
  for (const k of Object.keys(opts)) {
    if (!LINK_OPTION_KEYS.includes(k)) throw new PktTypeError(`dataplane.link: unknown option '${k}' (expected ${LINK_OPTION_KEYS.join(', ')})`);
  }
  const zeroCopy = opts.zeroCopy ?? false;
  if (typeof zeroCopy !== 'boolean') throw new PktTypeError(`dataplane.link: zeroCopy must be a boolean, got ${typeof zeroCopy}`);
  const zcSlots = zeroCopy ? opts.slots : undefined;
  if (zeroCopy) checkZeroCopyOptions(opts as Record<string, unknown>);
  const policy = opts.policy ?? 'drop';
  if (policy !== 'drop' && policy !== 'wait') throw new PktTypeError(`dataplane.link: policy must be 'drop' or 'wait', got ${JSON.stringify(policy)}`);
  const slots = intInRange('dataplane.link slots', zeroCopy ? DEFAULT_SLOTS : (opts.slots ?? DEFAULT_SLOTS), 2, 1 << 20);
  if ((slots & (slots - 1)) !== 0) throw new PktRangeError(`dataplane.link slots: expected a power of two, got ${slots}`);
  const slotSize = intInRange('dataplane.link slotSize', opts.slotSize ?? DEFAULT_SLOT_SIZE, 64, 65536);
  if (slotSize % 8 !== 0) throw new PktRangeError(`dataplane.link slotSize: expected a multiple of 8, got ${slotSize}`);
  const headroom = intInRange('dataplane.link headroom', opts.headroom ?? Math.min(DEFAULT_HEADROOM, slotSize / 2), 0, slotSize - 1);
  const maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0 && maxWaitMs <= 60_000)) {
    throw new PktRangeError(`dataplane.link maxWaitMs: expected a number in [0, 60000], got ${String(maxWaitMs)}`);
  }
  let addrA: string | null = null;
  let addrB: string | null = null;
  if (opts.addr !== undefined) {
    if (layer !== 3) throw new ConfigError('dataplane.link: addr is for layer-3 links only; these engines are layer 2');
    if (opts.addr === null || typeof opts.addr !== 'object') throw new PktTypeError('dataplane.link: addr must be { a?: prefix, b?: prefix }');
    addrA = opts.addr.a ?? null;
    addrB = opts.addr.b ?? null;
    // Parsed here only to fail early, with the parser's own error (ERR_PKT_INVALID_ADDRESS).
    if (addrA !== null) IpPrefix.parse(addrA);
    if (addrB !== null) IpPrefix.parse(addrB);
  }
  return { zeroCopy, zcSlots, policy, slots, slotSize, headroom, maxWaitMs, addrA, addrB };
}

