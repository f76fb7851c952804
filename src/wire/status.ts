/**
 * WireStatus: why a buffer is not a well-formed header of the kind a view expected.
 *
 * Views return these from `check()` and parsers from `parse…()`. They are small integers so that
 * the hot path can count drops by reason in a typed array without ever building a string; the
 * names are for display only (stats, logs, thrown errors on the cold path).
 */

import { WireFormatError } from '../errors.js';

export const WireStatus = {
  /** Well formed: every accessor of the view is now in bounds. */
  Ok: 0,
  /** The buffer ends before the header (or a field it announces) does. */
  Truncated: 1,
  /** A version field holds a value this view does not speak (IPv4 in an IPv6 view, say). */
  BadVersion: 2,
  /** A header-length field is below the minimum or runs past the packet. */
  BadHeaderLen: 3,
  /** A total- or payload-length field disagrees with the buffer. */
  BadLength: 4,
  /** A checksum does not verify (only where a parser is asked to verify). */
  BadChecksum: 5,
  /** An option or extension is malformed (bad length, runs past its area). */
  BadOption: 6,
  /** More chained headers or options than the parser's fixed limit (keeps parsing linear). */
  TooManyHeaders: 7,
  /** A field holds a value the protocol forbids (ARP hardware length 5, say). */
  BadValue: 8,
  /** A compression pointer that does not point strictly backwards, or loops. */
  BadPointer: 9,
  /** A name, label or list longer than the protocol allows. */
  TooLong: 10,
  /** Well formed but not something this implementation handles (a fragment, an unknown type). */
  Unsupported: 11,
} as const;
export type WireStatus = (typeof WireStatus)[keyof typeof WireStatus];

/** Number of WireStatus codes; drop-reason tables start their own codes here. */
export const WIRE_STATUS_COUNT = 12;

/** Display names, indexed by code. */
export const WIRE_STATUS_NAMES: readonly string[] = [
  'ok',
  'truncated',
  'bad-version',
  'bad-header-len',
  'bad-length',
  'bad-checksum',
  'bad-option',
  'too-many-headers',
  'bad-value',
  'bad-pointer',
  'too-long',
  'unsupported',
];

/**
 * Builds the cold-path error for a failed decode: `what` names the format (`ipv4`), `off` is
 * where the header started. Only called on the throw path.
 */
export function wireFormatError(what: string, st: WireStatus, off: number): WireFormatError {
  return new WireFormatError(`${what}: ${WIRE_STATUS_NAMES[st] ?? 'invalid'} (header at offset ${off})`, st);
}
