/**
 * pcapng block encoders: the blocks a capture writer needs, written into caller-owned buffers.
 *
 * Implements draft-ietf-opsawg-pcapng (PCAP Next Generation Capture File Format):
 *   §3.1 general block structure   §3.5 options        §4.1 Section Header Block (SHB)
 *   §4.2 Interface Description Block (IDB)             §4.3 Enhanced Packet Block (EPB)
 *   §4.3.1 EPB flags word          §4.6 Interface Statistics Block (ISB)
 *
 * Every block is written little-endian (the section's byte order is announced by the SHB's
 * byte-order magic, §3.6.1, so a reader on any host handles it) through the `setLe…` helpers of
 * src/wire/bytes.ts. Every block looks like this (§3.1):
 *
 *    0 +---------------------------------------+
 *      |            Block Type (u32)           |
 *    4 +---------------------------------------+
 *      |        Block Total Length (u32)       |   bytes, header and trailer included, % 4 == 0
 *    8 +---------------------------------------+
 *      /   Block Body (fields, then options)   /   options: code u16, length u16, value padded
 *      +---------------------------------------+            to 32 bits; opt_endofopt closes the list
 *      |        Block Total Length (u32)       |
 *      +---------------------------------------+
 *
 * Hot path: `epbLen` and `emitEpb` allocate nothing; the packet is copied once, straight into the
 * caller's buffer. The other blocks are written once per file or per interface and may allocate
 * (their strings are UTF-8 encoded here).
 *
 * Timestamps are counts of units since 1970-01-01 UTC (the unit is the IDB's `if_tsresol`), held
 * in a plain number rather than a BigInt: exact below 2^53. Microseconds since the epoch stay
 * below 2^53 until the year 2255; nanoseconds since the epoch passed it in April 1970, which is
 * one reason the capture writer uses microseconds (capture.ts). On the hot path `emitEpb` takes
 * the two 32-bit halves instead (`timestampHigh`/`timestampLow`), so nothing is boxed per packet.
 */

import { PktRangeError } from '../errors.js';
import { setLe16, setLe32 } from '../wire/bytes.js';

// ---------------------------------------------------------------------------------------------
// Spec constants

/** §4.1: the SHB block type, "\n\r\r\n": palindromic, so it reads the same in either byte order. */
export const PCAPNG_BLOCK_SHB = 0x0a0d0d0a;
/** §4.2 */
export const PCAPNG_BLOCK_IDB = 0x00000001;
/** §4.6 */
export const PCAPNG_BLOCK_ISB = 0x00000005;
/** §4.3 */
export const PCAPNG_BLOCK_EPB = 0x00000006;
/** §4.1: written in the section's byte order; a reader seeing 0x4d3c2b1a knows to swap. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** §4.1: "Writers of pcapng files MUST NOT write SHBs with a Major Version other than 1 or a
 * Minor Version other than 0." */
export const PCAPNG_VERSION_MAJOR = 1;
export const PCAPNG_VERSION_MINOR = 0;

/** Option codes (§3.5 common, §4.1 SHB, §4.2 IDB, §4.3 EPB, §4.6 ISB). */
export const PcapngOption = {
  EndOfOpt: 0,
  Comment: 1,
  ShbHardware: 2,
  ShbOs: 3,
  ShbUserAppl: 4,
  IfName: 2,
  IfDescription: 3,
  IfTsresol: 9,
  EpbFlags: 2,
  IsbStartTime: 2,
  IsbEndTime: 3,
  IsbIfRecv: 4,
  IsbIfDrop: 5,
  IsbUsrDeliv: 8,
} as const;

/** §4.3.1: bits 0-1 of epb_flags. Same numbers as TapDirection (src/core/device.ts). */
export const EPB_FLAG_DIR_UNKNOWN = 0;
export const EPB_FLAG_DIR_INBOUND = 1;
export const EPB_FLAG_DIR_OUTBOUND = 2;
const EPB_FLAG_DIR_MASK = 0b11;

/** §4.2 if_tsresol: a power of ten when the top bit is clear (6: microseconds, 9: nanoseconds). */
export const TSRESOL_MICROSECONDS = 6;
export const TSRESOL_NANOSECONDS = 9;

const OPT_HEADER_LEN = 4;
const OPT_U32_LEN = 4;
const OPT_U64_LEN = 8;
/** An option value is at most 65535 bytes: its length field is a u16 (§3.5). */
export const PCAPNG_MAX_OPTION_LEN = 0xffff;

// Field offsets from the start of the block.
const BLOCK_TYPE = 0;
const BLOCK_TOTAL_LEN = 4;
// §4.1 SHB
const SHB_MAGIC = 8;
const SHB_MAJOR = 12;
const SHB_MINOR = 14;
const SHB_SECTION_LEN = 16; // 64-bit signed, -1: not specified
const SHB_OPTIONS = 24;
// §4.2 IDB
const IDB_LINKTYPE = 8;
const IDB_RESERVED = 10;
const IDB_SNAPLEN = 12;
const IDB_OPTIONS = 16;
// §4.3 EPB
const EPB_IF_ID = 8;
const EPB_TS_HIGH = 12;
const EPB_TS_LOW = 16;
const EPB_CAP_LEN = 20;
const EPB_ORIG_LEN = 24;
const EPB_DATA = 28;
// §4.6 ISB
const ISB_IF_ID = 8;
const ISB_TS_HIGH = 12;
const ISB_TS_LOW = 16;
const ISB_OPTIONS = 20;

const TWO_POW_32 = 0x1_0000_0000;

/** Rounds a length up to the next multiple of 4 (the format's 32-bit alignment, §3.6.2). */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

// ---------------------------------------------------------------------------------------------
// Enhanced Packet Block: the hot path

/**
 * EPB size: header fields, packet data padded to 32 bits, the epb_flags option and
 * opt_endofopt (§3.5: "Code that writes pcapng files MUST put an opt_endofopt option at the end
 * of an option list"), and the trailing length.
 */
export function epbLen(capLen: number): number {
  return EPB_DATA + pad4(capLen) + OPT_HEADER_LEN + OPT_U32_LEN + OPT_HEADER_LEN + 4;
}

/** Upper 32 bits of a timestamp held as a number (an integer below 2^53). */
export function timestampHigh(ts: number): number {
  return Math.floor(ts / TWO_POW_32);
}

/**
 * Lower 32 bits of a timestamp held as a number, as an int32 (ToInt32 keeps the low 32 bits of
 * any integer below 2^53 exactly). An int32 is a small integer in V8: passing it to a function
 * that is not inlined boxes nothing, where a uint32 above 2^31 would become a heap number.
 */
export function timestampLow(ts: number): number {
  return ts | 0;
}

/**
 * Writes an Enhanced Packet Block at `off` and returns its length (`epbLen(capLen)`).
 *
 * `data[0, capLen)` is copied as the packet; `origLen` is its length on the wire (≥ capLen).
 * The timestamp, a count of if_tsresol units since the epoch, comes as its upper and lower 32
 * bits (§4.3: two u32s, upper first; see timestampHigh/timestampLow), so that no 64-bit value and
 * no heap number crosses the call. `direction` goes into bits 0-1 of epb_flags (1 inbound,
 * 2 outbound, 0 unknown). The caller guarantees room; allocates nothing.
 */
export function emitEpb(
  buf: Uint8Array,
  off: number,
  interfaceId: number,
  tsHigh: number,
  tsLow: number,
  data: Uint8Array,
  capLen: number,
  origLen: number,
  direction: number,
): number {
  const len = epbLen(capLen);
  setLe32(buf, off + BLOCK_TYPE, PCAPNG_BLOCK_EPB);
  setLe32(buf, off + BLOCK_TOTAL_LEN, len);
  setLe32(buf, off + EPB_IF_ID, interfaceId);
  setLe32(buf, off + EPB_TS_HIGH, tsHigh);
  setLe32(buf, off + EPB_TS_LOW, tsLow);
  setLe32(buf, off + EPB_CAP_LEN, capLen);
  setLe32(buf, off + EPB_ORIG_LEN, origLen);
  let p = off + EPB_DATA;
  copyPrefix(buf, p, data, capLen);
  p += capLen;
  const end = off + EPB_DATA + pad4(capLen);
  while (p < end) buf[p++] = 0; // §3.6.2: alignment octets MUST be zero (chunks are reused)
  setLe16(buf, p, PcapngOption.EpbFlags);
  setLe16(buf, p + 2, OPT_U32_LEN);
  setLe32(buf, p + 4, direction & EPB_FLAG_DIR_MASK);
  setLe32(buf, p + 8, PcapngOption.EndOfOpt); // code 0, length 0
  setLe32(buf, p + 12, len);
  return len;
}

/**
 * Copies `data[0, n)` to `buf` at `off`. A whole packet goes through `set` (a memcpy); a
 * truncated one is copied byte by byte, because `data.subarray(0, n)` would allocate a view per
 * packet. Truncation happens only when a snaplen is set below the traffic's size, where n is
 * small (a header snap), so the loop stays cheap.
 */
export function copyPrefix(buf: Uint8Array, off: number, data: Uint8Array, n: number): void {
  if (n === data.length) {
    buf.set(data, off);
  } else {
    for (let i = 0; i < n; i++) buf[off + i] = data[i]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Cold path: section header, interface description, interface statistics

const utf8 = new TextEncoder();

/** Length of one option whose value is `valueLen` bytes, with its padding. */
function optLen(valueLen: number): number {
  return OPT_HEADER_LEN + pad4(valueLen);
}

/** Writes one option (code, length, value, zero padding); returns the bytes written. */
function emitOpt(buf: Uint8Array, off: number, code: number, value: Uint8Array): number {
  setLe16(buf, off, code);
  setLe16(buf, off + 2, value.length);
  buf.set(value, off + OPT_HEADER_LEN);
  const end = off + optLen(value.length);
  for (let p = off + OPT_HEADER_LEN + value.length; p < end; p++) buf[p] = 0;
  return end - off;
}

/** Writes a 64-bit unsigned option (§4.6 counters, §4.3 timestamps use emitTsOpt). */
function emitU64Opt(buf: Uint8Array, off: number, code: number, v: number): number {
  setLe16(buf, off, code);
  setLe16(buf, off + 2, OPT_U64_LEN);
  setLe32(buf, off + 4, v >>> 0);
  setLe32(buf, off + 8, Math.floor(v / TWO_POW_32));
  return OPT_HEADER_LEN + OPT_U64_LEN;
}

/** Writes a timestamp option: upper 32 bits first, as the EPB's timestamp (§4.6 isb_starttime). */
function emitTsOpt(buf: Uint8Array, off: number, code: number, ts: number): number {
  setLe16(buf, off, code);
  setLe16(buf, off + 2, OPT_U64_LEN);
  setLe32(buf, off + 4, Math.floor(ts / TWO_POW_32));
  setLe32(buf, off + 8, ts >>> 0);
  return OPT_HEADER_LEN + OPT_U64_LEN;
}

function emitEndOfOpt(buf: Uint8Array, off: number): number {
  setLe32(buf, off, PcapngOption.EndOfOpt);
  return OPT_HEADER_LEN;
}

/** Writes the length at the front and the back of a block that ends at `off + len`. */
function closeBlock(buf: Uint8Array, off: number, type: number, len: number): number {
  setLe32(buf, off + BLOCK_TYPE, type);
  setLe32(buf, off + BLOCK_TOTAL_LEN, len);
  setLe32(buf, off + len - 4, len);
  return len;
}

function stringOpt(s: string | undefined, what: string): Uint8Array | null {
  if (s === undefined) return null;
  const b = utf8.encode(s);
  if (b.length > PCAPNG_MAX_OPTION_LEN) {
    throw new PktRangeError(`pcapng: ${what} must be at most ${PCAPNG_MAX_OPTION_LEN} UTF-8 bytes, got ${b.length}`);
  }
  return b;
}

/** What an SHB says (§4.1). */
export interface ShbFields {
  /** shb_userappl: the application that wrote the section ("pktkit"). Omitted when undefined. */
  userAppl?: string;
}

/** Length of the SHB `emitShb` writes. @throws {PktRangeError} when an option is too long. */
export function shbEmitLen(f: ShbFields): number {
  const appl = stringOpt(f.userAppl, 'shb_userappl');
  return SHB_OPTIONS + (appl === null ? 0 : optLen(appl.length) + OPT_HEADER_LEN) + 4;
}

/**
 * Writes a Section Header Block: byte-order magic, version 1.0, section length -1 (unspecified:
 * the writer streams and never seeks back), options. Returns the bytes written.
 * @throws {PktRangeError} when an option is longer than an option can be.
 */
export function emitShb(f: ShbFields, buf: Uint8Array, off: number): number {
  const appl = stringOpt(f.userAppl, 'shb_userappl');
  setLe32(buf, off + SHB_MAGIC, PCAPNG_BYTE_ORDER_MAGIC);
  setLe16(buf, off + SHB_MAJOR, PCAPNG_VERSION_MAJOR);
  setLe16(buf, off + SHB_MINOR, PCAPNG_VERSION_MINOR);
  setLe32(buf, off + SHB_SECTION_LEN, 0xffff_ffff);
  setLe32(buf, off + SHB_SECTION_LEN + 4, 0xffff_ffff);
  let p = off + SHB_OPTIONS;
  if (appl !== null) {
    p += emitOpt(buf, p, PcapngOption.ShbUserAppl, appl);
    p += emitEndOfOpt(buf, p);
  }
  return closeBlock(buf, off, PCAPNG_BLOCK_SHB, p + 4 - off);
}

/** What an IDB says (§4.2). */
export interface IdbFields {
  /** LINKTYPE_* value (16 bits). */
  linkType: number;
  /** Maximum bytes stored per packet; 0 means no limit. */
  snaplen: number;
  /** if_name. Omitted when undefined. */
  name?: string;
  /** if_tsresol: 6 (microseconds, the default when absent) or 9 (nanoseconds), etc. */
  tsresol?: number;
}

/** Length of the IDB `emitIdb` writes. @throws {PktRangeError} when the name is too long. */
export function idbEmitLen(f: IdbFields): number {
  const name = stringOpt(f.name, 'if_name');
  let opts = 0;
  if (name !== null) opts += optLen(name.length);
  if (f.tsresol !== undefined) opts += optLen(1);
  return IDB_OPTIONS + (opts === 0 ? 0 : opts + OPT_HEADER_LEN) + 4;
}

/**
 * Writes an Interface Description Block (link type, snaplen, if_name, if_tsresol) and returns
 * the bytes written. Interface IDs are implicit: the n-th IDB of a section is interface n.
 * @throws {PktRangeError} when the name is too long.
 */
export function emitIdb(f: IdbFields, buf: Uint8Array, off: number): number {
  const name = stringOpt(f.name, 'if_name');
  setLe16(buf, off + IDB_LINKTYPE, f.linkType);
  setLe16(buf, off + IDB_RESERVED, 0); // §4.2: "MUST be filled with 0"
  setLe32(buf, off + IDB_SNAPLEN, f.snaplen);
  let p = off + IDB_OPTIONS;
  if (name !== null) p += emitOpt(buf, p, PcapngOption.IfName, name);
  if (f.tsresol !== undefined) p += emitOpt(buf, p, PcapngOption.IfTsresol, Uint8Array.of(f.tsresol));
  if (p !== off + IDB_OPTIONS) p += emitEndOfOpt(buf, p);
  return closeBlock(buf, off, PCAPNG_BLOCK_IDB, p + 4 - off);
}

/** What an ISB says (§4.6). Counters and times are integers below 2^53; absent ones are omitted. */
export interface IsbFields {
  interfaceId: number;
  /** When the statistics were taken, in the interface's if_tsresol units. */
  timestamp: number;
  /** isb_starttime: when capture started on the interface. */
  startTime?: number;
  /** isb_endtime: when capture ended on the interface. */
  endTime?: number;
  /** isb_ifrecv: packets seen by the interface. */
  ifRecv?: number;
  /** isb_ifdrop: packets the interface dropped for lack of resources. */
  ifDrop?: number;
  /** isb_usrdeliv: packets delivered (written to the file). */
  usrDeliv?: number;
}

function isbOptionCount(f: IsbFields): number {
  return (
    (f.startTime === undefined ? 0 : 1) +
    (f.endTime === undefined ? 0 : 1) +
    (f.ifRecv === undefined ? 0 : 1) +
    (f.ifDrop === undefined ? 0 : 1) +
    (f.usrDeliv === undefined ? 0 : 1)
  );
}

/** Length of the ISB `emitIsb` writes. */
export function isbEmitLen(f: IsbFields): number {
  const n = isbOptionCount(f);
  return ISB_OPTIONS + (n === 0 ? 0 : n * (OPT_HEADER_LEN + OPT_U64_LEN) + OPT_HEADER_LEN) + 4;
}

/** Writes an Interface Statistics Block and returns the bytes written. */
export function emitIsb(f: IsbFields, buf: Uint8Array, off: number): number {
  setLe32(buf, off + ISB_IF_ID, f.interfaceId);
  setLe32(buf, off + ISB_TS_HIGH, Math.floor(f.timestamp / TWO_POW_32));
  setLe32(buf, off + ISB_TS_LOW, f.timestamp >>> 0);
  let p = off + ISB_OPTIONS;
  if (f.startTime !== undefined) p += emitTsOpt(buf, p, PcapngOption.IsbStartTime, f.startTime);
  if (f.endTime !== undefined) p += emitTsOpt(buf, p, PcapngOption.IsbEndTime, f.endTime);
  if (f.ifRecv !== undefined) p += emitU64Opt(buf, p, PcapngOption.IsbIfRecv, f.ifRecv);
  if (f.ifDrop !== undefined) p += emitU64Opt(buf, p, PcapngOption.IsbIfDrop, f.ifDrop);
  if (f.usrDeliv !== undefined) p += emitU64Opt(buf, p, PcapngOption.IsbUsrDeliv, f.usrDeliv);
  if (p !== off + ISB_OPTIONS) p += emitEndOfOpt(buf, p);
  return closeBlock(buf, off, PCAPNG_BLOCK_ISB, p + 4 - off);
}

/** Cold-path convenience: a new array holding one SHB. */
export function encodeShb(f: ShbFields): Uint8Array {
  const b = new Uint8Array(shbEmitLen(f));
  emitShb(f, b, 0);
  return b;
}

/** Cold-path convenience: a new array holding one IDB. */
export function encodeIdb(f: IdbFields): Uint8Array {
  const b = new Uint8Array(idbEmitLen(f));
  emitIdb(f, b, 0);
  return b;
}

/** Cold-path convenience: a new array holding one ISB. */
export function encodeIsb(f: IsbFields): Uint8Array {
  const b = new Uint8Array(isbEmitLen(f));
  emitIsb(f, b, 0);
  return b;
}
