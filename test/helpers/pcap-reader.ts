/**
 * A strict reader of the pcapng and classic pcap files pktkit writes, for tests. It parses every
 * block back and throws, naming the offset, on anything the specs forbid or pktkit never writes:
 *
 * - pcapng (draft-ietf-opsawg-pcapng): a file starts with an SHB; every Block Total Length is at
 *   least 12, a multiple of 4, inside the file and repeated in the trailer; SHB magic 0x1A2B3C4D
 *   little-endian, version 1.0, section length -1; options are code/length/value with zero
 *   padding to 32 bits, fixed-length options have their length, no option repeats, a non-empty
 *   list ends with opt_endofopt exactly at the end of the block body (§3.5: writers MUST put it
 *   there); IDB reserved field 0; EPB and ISB interface IDs refer to an earlier IDB; EPB
 *   captured length ≤ original length and ≤ snaplen, packet data padding zero.
 * - pcap (draft-ietf-opsawg-pcap): magic, version 2.4, reserved fields 0, records inside the
 *   file with captured ≤ original and ≤ snaplen, the fraction below one second.
 *
 * Little-endian sections only (pktkit writes nothing else).
 */

const TWO_POW_32 = 0x1_0000_0000;

function le16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

function fail(what: string, off: number): never {
  throw new Error(`pcap-reader: ${what} (offset ${off})`);
}

export interface OptionEntry {
  code: number;
  value: Uint8Array;
  /** Offset of the option header in the file. */
  offset: number;
}

export interface ShbRecord {
  offset: number;
  major: number;
  minor: number;
  userAppl: string | undefined;
  options: OptionEntry[];
}

export interface IdbRecord {
  offset: number;
  linkType: number;
  snaplen: number;
  name: string | undefined;
  /** if_tsresol, or undefined when absent (meaning 6). */
  tsresol: number | undefined;
  options: OptionEntry[];
}

export interface EpbRecord {
  offset: number;
  interfaceId: number;
  /** upper * 2^32 + lower, in the interface's if_tsresol units. */
  timestamp: number;
  capLen: number;
  origLen: number;
  data: Uint8Array;
  /** epb_flags, or undefined when absent. */
  flags: number | undefined;
  options: OptionEntry[];
}

export interface IsbRecord {
  offset: number;
  interfaceId: number;
  timestamp: number;
  startTime: number | undefined;
  endTime: number | undefined;
  ifRecv: number | undefined;
  ifDrop: number | undefined;
  usrDeliv: number | undefined;
  options: OptionEntry[];
}

export interface PcapngContents {
  shb: ShbRecord;
  interfaces: IdbRecord[];
  packets: EpbRecord[];
  stats: IsbRecord[];
  /** Every block in file order. */
  blocks: { type: number; offset: number; length: number }[];
}

const SHB = 0x0a0d0d0a;
const IDB = 1;
const ISB = 5;
const EPB = 6;

/** Fixed option lengths by block type and code (only the options pktkit writes). */
const KNOWN_OPTIONS: Record<number, Record<number, number | 'string'>> = {
  [SHB]: { 1: 'string', 2: 'string', 3: 'string', 4: 'string' },
  [IDB]: { 1: 'string', 2: 'string', 3: 'string', 9: 1 },
  [EPB]: { 1: 'string', 2: 4 },
  [ISB]: { 1: 'string', 2: 8, 3: 8, 4: 8, 5: 8, 6: 8, 7: 8, 8: 8 },
};

function parseOptions(b: Uint8Array, start: number, end: number, blockType: number): OptionEntry[] {
  const out: OptionEntry[] = [];
  if (start === end) return out;
  const seen = new Set<number>();
  let p = start;
  for (;;) {
    if (p + 4 > end) fail('option header runs past the end of the block body', p);
    const code = le16(b, p);
    const len = le16(b, p + 2);
    if (code === 0) {
      if (len !== 0) fail(`opt_endofopt with length ${len}`, p);
      if (p + 4 !== end) fail(`opt_endofopt is not the last thing in the block body (${end - p - 4} bytes follow)`, p);
      return out;
    }
    const padded = (len + 3) & ~3;
    if (p + 4 + padded > end) fail(`option ${code} (length ${len}) runs past the end of the block body`, p);
    for (let i = p + 4 + len; i < p + 4 + padded; i++) if (b[i] !== 0) fail(`option ${code} padding byte is ${b[i]}, not 0`, i);
    const spec = KNOWN_OPTIONS[blockType]?.[code];
    if (spec === undefined) fail(`unexpected option ${code} in block type ${blockType}`, p);
    if (typeof spec === 'number' && len !== spec) fail(`option ${code} has length ${len}, expected ${spec}`, p);
    if (seen.has(code)) fail(`option ${code} repeated`, p);
    seen.add(code);
    out.push({ code, value: b.slice(p + 4, p + 4 + len), offset: p });
    p += 4 + padded;
    if (p === end) fail('option list does not end with opt_endofopt', p);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function opt(options: OptionEntry[], code: number): OptionEntry | undefined {
  return options.find((o) => o.code === code);
}

function optString(options: OptionEntry[], code: number): string | undefined {
  const o = opt(options, code);
  return o === undefined ? undefined : utf8.decode(o.value);
}

/** A u64 counter: little-endian 64-bit. */
function optU64(options: OptionEntry[], code: number): number | undefined {
  const o = opt(options, code);
  return o === undefined ? undefined : le32(o.value, 4) * TWO_POW_32 + le32(o.value, 0);
}

/** A timestamp option: upper 32 bits first (as the EPB timestamp). */
function optTs(options: OptionEntry[], code: number): number | undefined {
  const o = opt(options, code);
  return o === undefined ? undefined : le32(o.value, 0) * TWO_POW_32 + le32(o.value, 4);
}

/** Parses a whole pcapng file. @throws {Error} on any violation, naming the offset. */
export function readPcapng(b: Uint8Array): PcapngContents {
  const blocks: PcapngContents['blocks'] = [];
  const interfaces: IdbRecord[] = [];
  const packets: EpbRecord[] = [];
  const stats: IsbRecord[] = [];
  let shb: ShbRecord | undefined;
  let off = 0;
  while (off < b.length) {
    if (off + 12 > b.length) fail(`${b.length - off} trailing bytes are not a block`, off);
    const type = le32(b, off);
    const len = le32(b, off + 4);
    if (len < 12 || len % 4 !== 0) fail(`block total length ${len} is not a multiple of 4 of at least 12`, off);
    if (off + len > b.length) fail(`block of length ${len} runs past the end of the file (${b.length})`, off);
    const trailer = le32(b, off + len - 4);
    if (trailer !== len) fail(`trailing block total length ${trailer} differs from the leading ${len}`, off + len - 4);
    const body = off + len - 4;
    if (off === 0 && type !== SHB) fail(`file starts with block type 0x${type.toString(16)}, not an SHB`, off);
    blocks.push({ type, offset: off, length: len });
    switch (type) {
      case SHB: {
        if (shb !== undefined) fail('a second section (pktkit writes one)', off);
        if (len < 28) fail(`SHB too short: ${len}`, off);
        const magic = le32(b, off + 8);
        if (magic !== 0x1a2b3c4d) fail(`byte-order magic 0x${magic.toString(16)}`, off + 8);
        const major = le16(b, off + 12);
        const minor = le16(b, off + 14);
        if (major !== 1 || minor !== 0) fail(`version ${major}.${minor}, expected 1.0`, off + 12);
        if (le32(b, off + 16) !== 0xffffffff || le32(b, off + 20) !== 0xffffffff) fail('section length is not -1', off + 16);
        const options = parseOptions(b, off + 24, body, SHB);
        shb = { offset: off, major, minor, userAppl: optString(options, 4), options };
        break;
      }
      case IDB: {
        if (len < 20) fail(`IDB too short: ${len}`, off);
        if (le16(b, off + 10) !== 0) fail('IDB reserved field is not 0', off + 10);
        const options = parseOptions(b, off + 16, body, IDB);
        const tsresolOpt = opt(options, 9);
        interfaces.push({
          offset: off,
          linkType: le16(b, off + 8),
          snaplen: le32(b, off + 12),
          name: optString(options, 2),
          tsresol: tsresolOpt === undefined ? undefined : tsresolOpt.value[0]!,
          options,
        });
        break;
      }
      case EPB: {
        if (len < 32) fail(`EPB too short: ${len}`, off);
        const interfaceId = le32(b, off + 8);
        const ifc = interfaces[interfaceId];
        if (ifc === undefined) fail(`EPB refers to interface ${interfaceId}, but only ${interfaces.length} are described`, off);
        const capLen = le32(b, off + 20);
        const origLen = le32(b, off + 24);
        if (capLen > origLen) fail(`captured length ${capLen} > original length ${origLen}`, off + 20);
        if (ifc.snaplen !== 0 && capLen > ifc.snaplen) fail(`captured length ${capLen} > snaplen ${ifc.snaplen}`, off + 20);
        const dataEnd = off + 28 + ((capLen + 3) & ~3);
        if (dataEnd > body) fail(`packet data (${capLen}) runs past the block body`, off + 28);
        for (let i = off + 28 + capLen; i < dataEnd; i++) if (b[i] !== 0) fail(`packet padding byte is ${b[i]}, not 0`, i);
        const options = parseOptions(b, dataEnd, body, EPB);
        const flagsOpt = opt(options, 2);
        packets.push({
          offset: off,
          interfaceId,
          timestamp: le32(b, off + 12) * TWO_POW_32 + le32(b, off + 16),
          capLen,
          origLen,
          data: b.slice(off + 28, off + 28 + capLen),
          flags: flagsOpt === undefined ? undefined : le32(flagsOpt.value, 0),
          options,
        });
        break;
      }
      case ISB: {
        if (len < 24) fail(`ISB too short: ${len}`, off);
        const interfaceId = le32(b, off + 8);
        if (interfaces[interfaceId] === undefined) fail(`ISB refers to interface ${interfaceId}, not described`, off);
        const options = parseOptions(b, off + 20, body, ISB);
        stats.push({
          offset: off,
          interfaceId,
          timestamp: le32(b, off + 12) * TWO_POW_32 + le32(b, off + 16),
          startTime: optTs(options, 2),
          endTime: optTs(options, 3),
          ifRecv: optU64(options, 4),
          ifDrop: optU64(options, 5),
          usrDeliv: optU64(options, 8),
          options,
        });
        break;
      }
      default:
        fail(`unexpected block type 0x${type.toString(16)}`, off);
    }
    off += len;
  }
  if (shb === undefined) fail('empty file: no SHB', 0);
  return { shb, interfaces, packets, stats, blocks };
}

export interface PcapRecord {
  offset: number;
  tsSec: number;
  /** Microseconds or nanoseconds, as the magic says. */
  tsFrac: number;
  capLen: number;
  origLen: number;
  data: Uint8Array;
}

export interface PcapContents {
  nanos: boolean;
  snaplen: number;
  linkType: number;
  packets: PcapRecord[];
}

/** Parses a whole classic pcap file. @throws {Error} on any violation, naming the offset. */
export function readPcap(b: Uint8Array): PcapContents {
  if (b.length < 24) fail(`file of ${b.length} bytes is shorter than a pcap header`, 0);
  const magic = le32(b, 0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) fail(`magic 0x${magic.toString(16)}`, 0);
  const nanos = magic === 0xa1b23c4d;
  if (le16(b, 4) !== 2 || le16(b, 6) !== 4) fail(`version ${le16(b, 4)}.${le16(b, 6)}, expected 2.4`, 4);
  if (le32(b, 8) !== 0 || le32(b, 12) !== 0) fail('reserved fields are not 0', 8);
  const snaplen = le32(b, 16);
  const linkTypeField = le32(b, 20);
  if (linkTypeField >>> 16 !== 0) fail('FCS bits set in the link type field', 20);
  const packets: PcapRecord[] = [];
  let off = 24;
  while (off < b.length) {
    if (off + 16 > b.length) fail(`${b.length - off} trailing bytes are not a record header`, off);
    const tsSec = le32(b, off);
    const tsFrac = le32(b, off + 4);
    const capLen = le32(b, off + 8);
    const origLen = le32(b, off + 12);
    if (tsFrac >= (nanos ? 1e9 : 1e6)) fail(`sub-second timestamp ${tsFrac} out of range`, off + 4);
    if (capLen > origLen) fail(`captured length ${capLen} > original length ${origLen}`, off + 8);
    if (capLen > snaplen) fail(`captured length ${capLen} > snaplen ${snaplen}`, off + 8);
    if (off + 16 + capLen > b.length) fail(`record data (${capLen}) runs past the end of the file`, off);
    packets.push({ offset: off, tsSec, tsFrac, capLen, origLen, data: b.slice(off + 16, off + 16 + capLen) });
    off += 16 + capLen;
  }
  return { nanos, snaplen, linkType: linkTypeField, packets };
}
