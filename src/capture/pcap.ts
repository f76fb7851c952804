/**
 * Classic libpcap file encoders (draft-ietf-opsawg-pcap, "PCAP Capture File Format"):
 * §4 the file header, §5 the packet record. One link type and one snaplen for the whole file;
 * no interfaces, directions or statistics (pcapng has those).
 *
 * Little-endian throughout, as the magic announces: a reader that sees 0xd4c3b2a1 swaps.
 *
 *   file header (24 bytes)                  packet record (16 bytes + packet)
 *    0 magic 0xa1b2c3d4 (µs) / 0xa1b23c4d    0 timestamp, seconds
 *    4 major 2 | 6 minor 4                   4 timestamp, µs or ns within the second
 *    8 reserved1 (0)   12 reserved2 (0)      8 captured length (≤ snaplen)
 *   16 snaplen                              12 original length
 *   20 link type (low 16 bits; FCS bits 0) 16 packet data, not padded
 *
 * `emitPcapRecord` is the hot path and allocates nothing.
 */

import { setLe16, setLe32 } from '../wire/bytes.js';
import { copyPrefix } from './pcapng.js';

/** §4: timestamps in seconds and microseconds. */
export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
/** §4: timestamps in seconds and nanoseconds. */
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

// §4 file header offsets
const MAGIC = 0;
const VERSION_MAJOR = 4;
const VERSION_MINOR = 6;
const RESERVED1 = 8; // "thiszone" in old libpcap: always 0
const RESERVED2 = 12; // "sigfigs" in old libpcap: always 0
const SNAPLEN = 16;
const LINKTYPE = 20;
// §5 record offsets
const TS_SEC = 0;
const TS_FRAC = 4;
const CAP_LEN = 8;
const ORIG_LEN = 12;

export interface PcapHeaderFields {
  snaplen: number;
  /** LINKTYPE_* value; the upper 16 bits (FCS information) are written as 0. */
  linkType: number;
  /** True for nanosecond timestamps (magic 0xa1b23c4d), false for microseconds. */
  nanos: boolean;
}

/** Writes the 24-byte file header at `off`; returns PCAP_FILE_HEADER_LEN. */
export function emitPcapHeader(f: PcapHeaderFields, buf: Uint8Array, off: number): number {
  setLe32(buf, off + MAGIC, f.nanos ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS);
  setLe16(buf, off + VERSION_MAJOR, PCAP_VERSION_MAJOR);
  setLe16(buf, off + VERSION_MINOR, PCAP_VERSION_MINOR);
  setLe32(buf, off + RESERVED1, 0);
  setLe32(buf, off + RESERVED2, 0);
  setLe32(buf, off + SNAPLEN, f.snaplen);
  setLe32(buf, off + LINKTYPE, f.linkType & 0xffff);
  return PCAP_FILE_HEADER_LEN;
}

/** Cold-path convenience: a new array holding the file header. */
export function encodePcapHeader(f: PcapHeaderFields): Uint8Array {
  const b = new Uint8Array(PCAP_FILE_HEADER_LEN);
  emitPcapHeader(f, b, 0);
  return b;
}

/** Size of a record holding `capLen` bytes of packet (records are not padded). */
export function pcapRecordLen(capLen: number): number {
  return PCAP_RECORD_HEADER_LEN + capLen;
}

/**
 * Writes a packet record at `off` and returns its length. `tsSec` is seconds since the epoch,
 * `tsFrac` the micro- or nanoseconds within it (as the file's magic says); `data[0, capLen)` is
 * the packet and `origLen` its length on the wire. The caller guarantees room.
 */
export function emitPcapRecord(
  buf: Uint8Array,
  off: number,
  tsSec: number,
  tsFrac: number,
  data: Uint8Array,
  capLen: number,
  origLen: number,
): number {
  setLe32(buf, off + TS_SEC, tsSec);
  setLe32(buf, off + TS_FRAC, tsFrac);
  setLe32(buf, off + CAP_LEN, capLen);
  setLe32(buf, off + ORIG_LEN, origLen);
  copyPrefix(buf, off + PCAP_RECORD_HEADER_LEN, data, capLen);
  return PCAP_RECORD_HEADER_LEN + capLen;
}
