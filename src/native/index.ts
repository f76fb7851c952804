/**
 * The loader of pktkit's native addon (native/, Rust through napi-rs). It fails soft: without
 * the addon every pure-TypeScript module works, and each API that needs it throws a PktError
 * with code ERR_PKT_NATIVE_UNAVAILABLE that says how to build it.
 *
 * Where it looks: `PKTKIT_NATIVE_PATH` if set (a .node file: another build, a feature subset),
 * else `native/pktkit.<platform>.node` in the package, which `npm install` builds when cargo is
 * present (scripts/build-native.mjs). The binding's types are generated from the Rust code into
 * binding.ts.
 */

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Doorbell } from '../../rings/index.js';
import { BulkCopy } from '../core/bulk-copy.js';
import { NativeSum } from '../wire/checksum.js';
import { PktError } from '../errors.js';
import type * as Binding from './binding.js';

/** The addon's exports, as generated from the Rust code. */
export type NativeBinding = typeof Binding;
/** A capability of the addon (a cargo feature). */
export type NativeFeature = 'aead' | 'icmp' | 'tuntap' | 'udp' | 'xdp';

const require = createRequire(import.meta.url);
let cached: NativeBinding | null | undefined;
let loadError: unknown = null;

/** The platform part of the addon's file name, as @napi-rs/cli writes it. */
function platformTriple(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const libc = process.platform === 'linux' ? (report?.header?.glibcVersionRuntime !== undefined ? '-gnu' : '-musl') : '';
  return `${process.platform}-${process.arch}${libc}`;
}

/** Where the addon is looked for. */
export function nativePath(): string {
  return process.env['PKTKIT_NATIVE_PATH'] ?? fileURLToPath(new URL(`../../../native/pktkit.${platformTriple()}.node`, import.meta.url));
}

/** The addon, or null when it is not built (the reason is kept for `requireNative`'s error). */
export function loadNative(): NativeBinding | null {
  if (cached !== undefined) return cached;
  try {
    const b = require(nativePath()) as NativeBinding;
    cached = b;
    // Producers on this thread can now wake consumers parked in native waits (rings/doorbell.ts).
    Doorbell.kicker = (fd) => b.eventfdKick(fd);
    // Bulk copies (vtcp's buffers) go through its memcpy from now on (core/bulk-copy.ts).
    if (typeof b.memCopy === 'function') BulkCopy.fn = b.memCopy;
    // So do long checksums (wire/checksum.ts's sum16).
    if (typeof b.inetSum === 'function') NativeSum.fn = b.inetSum;
  } catch (err) {
    loadError = err;
    cached = null;
  }
  return cached;
}

/** True when the addon is built with `feature`. */
export function hasNative(feature: NativeFeature): boolean {
  return loadNative()?.nativeInfo().features.includes(feature) ?? false;
}

/**
 * The addon, for an API that needs it (with `feature` compiled in, when given; the descriptor
 * wait and eventfd functions are always there).
 * @throws {PktError} code ERR_PKT_NATIVE_UNAVAILABLE, saying what is missing and how to build it.
 */
export function requireNative(what: string, feature?: NativeFeature): NativeBinding {
  const b = loadNative();
  if (b !== null && (feature === undefined || b.nativeInfo().features.includes(feature))) return b;
  const why =
    b === null
      ? `the addon is not built (looked for ${nativePath()})`
      : `this build of the addon lacks the '${feature}' feature (it has: ${b.nativeInfo().features.join(', ') || 'none'})`;
  throw new PktError(
    'ERR_PKT_NATIVE_UNAVAILABLE',
    `${what} needs pktkit's native addon, but ${why}. It builds on Linux with a Rust toolchain: install Rust (https://rustup.rs), then run \`npm run build:native\`.`,
    { cause: loadError ?? undefined },
  );
}
