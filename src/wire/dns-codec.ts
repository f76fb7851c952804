/**
 * DNS messages as plain objects (RFC 1035 §4, §3.3 rdata; AAAA RFC 3596 §2.2; SRV RFC 2782; OPT
 * RFC 6891 §6): `decodeDns` reads a whole message into them, `dnsEmitLen` / `emitDns` write
 * one with name compression, and `buildQuery` makes the one-question query a stub resolver sends.
 * Cold path: all of this allocates. A packet path walks messages with `DnsReader` (dns.ts).
 *
 * Rdata is decoded for A and AAAA (address text, via addr.ts), NS, CNAME and PTR (a name), MX,
 * SOA, SRV and TXT (each character-string as bytes); anything else is kept as raw bytes. The OPT
 * pseudo-record is not listed among the additionals: it becomes the message's `edns` field, and
 * the emitter writes it back as the last additional record.
 *
 * Compression (RFC 1035 §4.1.4): the emitter points owner names and the names inside NS, CNAME,
 * PTR, MX and SOA rdata at the longest suffix it has already written, looked up in a table of at
 * most DNS_COMPRESSION_MAX_ENTRIES suffix offsets. Suffixes match byte for byte, case included,
 * so that names keep the case they were given (RFC 4343 §4). SRV targets are never compressed
 * (RFC 2782: "name compression is not to be used for this field"), though later names may point
 * into them as dnsmasq's do; names inside rdata of other types are raw bytes here (RFC 3597 §4).
 *
 * Not handled: DNSSEC records beyond raw bytes, EDNS options beyond (code, bytes), messages over
 * 65535 bytes, truncation to fit a UDP payload (the caller sets TC and trims).
 */

import { PktRangeError, PktTypeError, intInRange } from '../errors.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './addr.js';
import { be16, be32, setBe16, setBe32 } from './bytes.js';
import {
  DNS_NAME_MAX_LEN,
  DNS_POINTER_MAX_OFFSET,
  dnsNameEncode,
  dnsNameToText,
  dnsNameWireLen,
  dnsSkipName,
} from './dns-name.js';
import {
  DNS_FLAG_AA,
  DNS_FLAG_AD,
  DNS_FLAG_CD,
  DNS_FLAG_QR,
  DNS_FLAG_RA,
  DNS_FLAG_RD,
  DNS_FLAG_TC,
  DNS_FLAG_Z,
  DNS_MAX_MESSAGE_LEN,
  DNS_OPCODE_SHIFT,
  DnsClass,
  DnsReader,
  DnsSection,
  DnsType,
  DnsView,
  EDNS_DEFAULT_UDP_SIZE,
  EDNS_FLAG_DO,
  type DnsEdns,
  type DnsEdnsOption,
  type DnsMessage,
  type DnsMessageInit,
  type DnsMx,
  type DnsRecord,
  type DnsSoa,
  type DnsSrv,
} from './dns.js';
import { WireStatus, wireFormatError } from './status.js';

// Rdata layouts (offsets from the start of the rdata).
const A_LEN = 4;
const AAAA_LEN = 16;
const MX_PREFERENCE = 0;
const MX_EXCHANGE = 2;
const SRV_PRIORITY = 0;
const SRV_WEIGHT = 2;
const SRV_PORT = 4;
const SRV_TARGET = 6;
/** SOA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM, 32 bits each. */
const SOA_SERIAL = 0;
const SOA_REFRESH = 4;
const SOA_RETRY = 8;
const SOA_EXPIRE = 12;
const SOA_MINIMUM = 16;
const SOA_TIMERS_LEN = 20;
/** EDNS option: OPTION-CODE(16) OPTION-LENGTH(16) OPTION-DATA (RFC 6891 §6.1.2). */
const OPTION_CODE = 0;
const OPTION_LENGTH = 2;
const OPTION_HEADER_LEN = 4;
/** A character-string is a length byte and up to 255 bytes (RFC 1035 §3.3). */
const CHARSTRING_MAX_LEN = 255;
/** RDLENGTH is 16 bits. */
const RDLENGTH_LEN = 2;
const U8_MAX = 0xff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffff_ffff;
const OPCODE_MAX = 15;
const RCODE_MAX = 15;
const EDNS_Z_MAX = 0x7fff;
/** RFC 1035 §4.1.4: a pointer is the 14-bit offset with the two top bits set. */
const POINTER_PREFIX = 0xc000;

/** Most name suffixes the emitter remembers for compression (our bound on its memory per message). */
export const DNS_COMPRESSION_MAX_ENTRIES = 256;

// ---------------------------------------------------------------------------------------------
// Decoding

const SECTION_NAMES = ['question', 'answer', 'authority', 'additional'];

/** Throws for the reader's current entry; the message is built here, on the throw path only. */
function bad(rd: DnsReader, st: WireStatus): never {
  const where = `${SECTION_NAMES[rd.section] ?? 'record'} ${rd.index} at offset ${rd.nameOff - rd.off}`;
  throw wireFormatError(`dns ${where}`, st, rd.off);
}

/** Where the last `rdataName` ended. */
let nameEnd = 0;

/**
 * The text of the name at `off` inside the current record's rdata; it must end by `end`, the end
 * of the rdata (its pointers may go anywhere before it in the message). Sets `nameEnd`.
 */
function rdataName(rd: DnsReader, off: number, end: number): string {
  const p = dnsSkipName(rd.buf, rd.off, rd.end, off);
  if (p < 0) bad(rd, -p as WireStatus);
  if (p > end) bad(rd, WireStatus.BadLength);
  nameEnd = p;
  return dnsNameToText(rd.buf, rd.off, rd.end, off);
}

function decodeRecord(rd: DnsReader): DnsRecord {
  const b = rd.buf;
  const off = rd.rdataOff;
  const len = rd.rdataLen;
  const end = off + len;
  const common = { name: dnsNameToText(b, rd.off, rd.end, rd.nameOff), class: rd.class, ttl: rd.ttl };
  switch (rd.type) {
    case DnsType.A:
      if (len !== A_LEN) bad(rd, WireStatus.BadLength);
      return { ...common, type: DnsType.A, data: formatIPv4(be32(b, off)) };
    case DnsType.AAAA:
      if (len !== AAAA_LEN) bad(rd, WireStatus.BadLength);
      return { ...common, type: DnsType.AAAA, data: formatIPv6(b, off) };
    case DnsType.NS:
    case DnsType.CNAME:
    case DnsType.PTR: {
      const data = rdataName(rd, off, end);
      if (nameEnd !== end) bad(rd, WireStatus.BadLength);
      return { ...common, type: rd.type, data };
    }
    case DnsType.MX: {
      if (len < MX_EXCHANGE + 1) bad(rd, WireStatus.BadLength);
      const exchange = rdataName(rd, off + MX_EXCHANGE, end);
      if (nameEnd !== end) bad(rd, WireStatus.BadLength);
      return { ...common, type: DnsType.MX, data: { preference: be16(b, off + MX_PREFERENCE), exchange } };
    }
    case DnsType.SRV: {
      if (len < SRV_TARGET + 1) bad(rd, WireStatus.BadLength);
      // RFC 2782 forbids compressing the target; a compressed one is still read.
      const target = rdataName(rd, off + SRV_TARGET, end);
      if (nameEnd !== end) bad(rd, WireStatus.BadLength);
      const priority = be16(b, off + SRV_PRIORITY);
      const weight = be16(b, off + SRV_WEIGHT);
      return { ...common, type: DnsType.SRV, data: { priority, weight, port: be16(b, off + SRV_PORT), target } };
    }
    case DnsType.SOA: {
      const mname = rdataName(rd, off, end);
      const rname = rdataName(rd, nameEnd, end);
      const t = nameEnd;
      if (t + SOA_TIMERS_LEN !== end) bad(rd, WireStatus.BadLength);
      const data = {
        mname,
        rname,
        serial: be32(b, t + SOA_SERIAL),
        refresh: be32(b, t + SOA_REFRESH),
        retry: be32(b, t + SOA_RETRY),
        expire: be32(b, t + SOA_EXPIRE),
        minimum: be32(b, t + SOA_MINIMUM),
      };
      return { ...common, type: DnsType.SOA, data };
    }
    case DnsType.TXT: {
      // RFC 1035 §3.3.14 asks for one or more strings; an empty rdata decodes as none.
      const data: Uint8Array[] = [];
      for (let p = off; p < end; ) {
        const n = b[p]!;
        if (p + 1 + n > end) bad(rd, WireStatus.BadLength);
        data.push(b.slice(p + 1, p + 1 + n));
        p += 1 + n;
      }
      return { ...common, type: DnsType.TXT, data };
    }
    default:
      return { ...common, type: rd.type, data: b.slice(off, end) };
  }
}

function decodeEdns(rd: DnsReader): DnsEdns {
  const b = rd.buf;
  // RFC 6891 §6.1.2: the OPT record's owner MUST be 0 (root domain).
  if (dnsNameWireLen(b, rd.off, rd.end, rd.nameOff) !== 1) bad(rd, WireStatus.BadValue);
  const options: DnsEdnsOption[] = [];
  const end = rd.rdataOff + rd.rdataLen;
  for (let p = rd.rdataOff; p < end; ) {
    if (p + OPTION_HEADER_LEN > end) bad(rd, WireStatus.BadOption);
    const n = be16(b, p + OPTION_LENGTH);
    const dataOff = p + OPTION_HEADER_LEN;
    if (dataOff + n > end) bad(rd, WireStatus.BadOption);
    options.push({ code: be16(b, p + OPTION_CODE), data: b.slice(dataOff, dataOff + n) });
    p = dataOff + n;
  }
  return {
    udpSize: rd.ednsUdpSize,
    extRcode: rd.ednsExtRcode,
    version: rd.ednsVersion,
    do: rd.ednsDo,
    z: rd.ednsFlags & ~EDNS_FLAG_DO,
    options,
  };
}

/**
 * Decodes the `len`-byte message at `off` into new plain objects (names as text, addresses as
 * text, TXT strings and unknown rdata as copied bytes). Bytes after the last record are ignored.
 * @throws {WireFormatError} with the WireStatus as `status` when the message is malformed: a bad
 *   name or pointer, a count larger than the message, rdata whose length does not match its
 *   type, an OPT record that is not a single root-owned additional record.
 */
export function decodeDns(bytes: Uint8Array, off = 0, len = bytes.length - off): DnsMessage {
  const v = new DnsView().reset(bytes, off, len);
  if (v.check() !== WireStatus.Ok) throw wireFormatError('dns', WireStatus.Truncated, off);
  const m: DnsMessage = {
    id: v.id,
    qr: v.qr,
    opcode: v.opcode,
    aa: v.aa,
    tc: v.tc,
    rd: v.rd,
    ra: v.ra,
    z: v.z,
    ad: v.ad,
    cd: v.cd,
    rcode: v.rcode,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    edns: null,
  };
  const rd = new DnsReader().reset(bytes, off, len);
  const sections = [m.answers, m.authorities, m.additionals];
  while (rd.next()) {
    if (rd.section === DnsSection.Question) {
      m.questions.push({ name: dnsNameToText(bytes, off, rd.end, rd.nameOff), type: rd.type, class: rd.class });
    } else if (rd.type === DnsType.OPT) {
      // RFC 6891 §6.1.1: at most one OPT, in the additional section.
      if (rd.section !== DnsSection.Additional || m.edns !== null) bad(rd, WireStatus.BadValue);
      m.edns = decodeEdns(rd);
    } else {
      sections[rd.section - 1]!.push(decodeRecord(rd));
    }
  }
  if (rd.status !== WireStatus.Ok) throw wireFormatError(`dns entry at offset ${rd.pos - off}`, rd.status, off);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Emitting

const textEncoder = new TextEncoder();

/**
 * Writes (or, with `buf` null, only measures) one message. Per call: owns its compression table.
 * Every value is validated before anything is written, by the measuring pass `emitDns` runs first.
 */
class DnsWriter {
  readonly buf: Uint8Array | null;
  readonly start: number;
  pos: number;
  /** Wire-form suffix (one char per byte) -> its offset from the start of the message. */
  readonly table = new Map<string, number>();
  readonly scratch = new Uint8Array(DNS_NAME_MAX_LEN);

  constructor(buf: Uint8Array | null, start: number) {
    this.buf = buf;
    this.start = start;
    this.pos = start;
  }

  u8(v: number): void {
    if (this.buf !== null) this.buf[this.pos] = v;
    this.pos += 1;
  }
  u16(v: number): void {
    if (this.buf !== null) setBe16(this.buf, this.pos, v);
    this.pos += 2;
  }
  u32(v: number): void {
    if (this.buf !== null) setBe32(this.buf, this.pos, v);
    this.pos += 4;
  }
  bytes(src: Uint8Array): void {
    if (this.buf !== null) this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /**
   * Writes `name`. With `compress`, points at the longest suffix already written; either way
   * remembers its suffixes for the names after it (a name inside SRV rdata may not be compressed,
   * RFC 2782, but later names may point into it).
   */
  name(name: string, compress: boolean): void {
    const s = this.scratch;
    const n = dnsNameEncode(name, s, 0);
    let key = '';
    for (let i = 0; i < n; i++) key += String.fromCharCode(s[i]!);
    // The longest suffix already written, at a label boundary. The root alone is never worth a
    // pointer (2 bytes for 1).
    let cut = n;
    let target = -1;
    if (compress) {
      for (let i = 0; i < n - 1; i += s[i]! + 1) {
        const t = this.table.get(key.slice(i));
        if (t !== undefined) {
          cut = i;
          target = t;
          break;
        }
      }
    }
    const at = this.pos - this.start;
    for (let i = 0; i < cut && s[i] !== 0; i += s[i]! + 1) {
      if (at + i > DNS_POINTER_MAX_OFFSET || this.table.size >= DNS_COMPRESSION_MAX_ENTRIES) break;
      const suffix = key.slice(i);
      if (!this.table.has(suffix)) this.table.set(suffix, at + i);
    }
    this.bytes(s.subarray(0, cut));
    if (target >= 0) this.u16(POINTER_PREFIX | target);
  }
}

function u16Arg(name: string, v: number): number {
  return intInRange(`dns: ${name}`, v, 0, U16_MAX);
}
function u32Arg(name: string, v: number): number {
  return intInRange(`dns: ${name}`, v, 0, U32_MAX);
}

function writeRdata(w: DnsWriter, r: DnsRecord): void {
  const d: unknown = r.data;
  if (d instanceof Uint8Array) {
    if (d.length > U16_MAX) throw new PktRangeError(`dns: rdata of ${r.name} is ${d.length} bytes, expected at most 65535`);
    w.bytes(d);
    return;
  }
  switch (r.type) {
    case DnsType.A: {
      const a = parseIPv4(r.data as string);
      w.u32(a);
      return;
    }
    case DnsType.AAAA:
      w.bytes(parseIPv6(r.data as string));
      return;
    case DnsType.NS:
    case DnsType.CNAME:
    case DnsType.PTR:
      w.name(r.data as string, true);
      return;
    case DnsType.MX: {
      const mx = r.data as DnsMx;
      w.u16(u16Arg('MX preference', mx.preference));
      w.name(mx.exchange, true);
      return;
    }
    case DnsType.SRV: {
      const srv = r.data as DnsSrv;
      w.u16(u16Arg('SRV priority', srv.priority));
      w.u16(u16Arg('SRV weight', srv.weight));
      w.u16(u16Arg('SRV port', srv.port));
      w.name(srv.target, false);
      return;
    }
    case DnsType.SOA: {
      const soa = r.data as DnsSoa;
      w.name(soa.mname, true);
      w.name(soa.rname, true);
      w.u32(u32Arg('SOA serial', soa.serial));
      w.u32(u32Arg('SOA refresh', soa.refresh));
      w.u32(u32Arg('SOA retry', soa.retry));
      w.u32(u32Arg('SOA expire', soa.expire));
      w.u32(u32Arg('SOA minimum', soa.minimum));
      return;
    }
    case DnsType.TXT: {
      const strings = r.data as (Uint8Array | string)[];
      if (!Array.isArray(strings)) throw new PktTypeError(`dns: TXT data of ${r.name}: expected an array of strings or byte arrays`);
      for (const x of strings) {
        const bytes = typeof x === 'string' ? textEncoder.encode(x) : x;
        if (!(bytes instanceof Uint8Array)) throw new PktTypeError(`dns: TXT data of ${r.name}: expected strings or byte arrays`);
        if (bytes.length > CHARSTRING_MAX_LEN) {
          throw new PktRangeError(`dns: TXT string of ${r.name} is ${bytes.length} bytes, expected at most 255`);
        }
        w.u8(bytes.length);
        w.bytes(bytes);
      }
      return;
    }
    default:
      throw new PktTypeError(`dns: record ${r.name} of type ${r.type}: expected its data as a Uint8Array`);
  }
}

function writeRecord(w: DnsWriter, r: DnsRecord): void {
  if (r.type === DnsType.OPT) throw new PktTypeError(`dns: expected EDNS as the message's edns field, not an OPT record`);
  w.name(r.name, true);
  w.u16(u16Arg('record type', r.type));
  w.u16(u16Arg('record class', r.class));
  w.u32(u32Arg('TTL', r.ttl));
  const lenAt = w.pos;
  w.u16(0);
  writeRdata(w, r);
  const rdLen = w.pos - lenAt - RDLENGTH_LEN;
  if (rdLen > U16_MAX) throw new PktRangeError(`dns: rdata of ${r.name} is ${rdLen} bytes, expected at most 65535`);
  if (w.buf !== null) setBe16(w.buf, lenAt, rdLen);
}

function writeEdns(w: DnsWriter, e: Partial<DnsEdns>): void {
  w.u8(0); // the owner is the root
  w.u16(DnsType.OPT);
  w.u16(u16Arg('EDNS udpSize', e.udpSize ?? EDNS_DEFAULT_UDP_SIZE));
  const ext = intInRange('dns: EDNS extRcode', e.extRcode ?? 0, 0, U8_MAX);
  const ver = intInRange('dns: EDNS version', e.version ?? 0, 0, U8_MAX);
  const z = intInRange('dns: EDNS z', e.z ?? 0, 0, EDNS_Z_MAX);
  w.u8(ext);
  w.u8(ver);
  w.u16((e.do === true ? EDNS_FLAG_DO : 0) | z);
  const lenAt = w.pos;
  w.u16(0);
  for (const o of e.options ?? []) {
    w.u16(u16Arg('EDNS option code', o.code));
    if (!(o.data instanceof Uint8Array)) throw new PktTypeError(`dns: EDNS option ${o.code}: expected its data as a Uint8Array`);
    w.u16(u16Arg('EDNS option length', o.data.length));
    w.bytes(o.data);
  }
  const rdLen = w.pos - lenAt - RDLENGTH_LEN;
  if (rdLen > U16_MAX) throw new PktRangeError(`dns: EDNS options are ${rdLen} bytes, expected at most 65535`);
  if (w.buf !== null) setBe16(w.buf, lenAt, rdLen);
}

function countArg(what: string, n: number): number {
  if (n > U16_MAX) throw new PktRangeError(`dns: ${n} ${what}, expected at most 65535`);
  return n;
}

function writeMessage(w: DnsWriter, m: DnsMessageInit): void {
  const questions = m.questions ?? [];
  const answers = m.answers ?? [];
  const authorities = m.authorities ?? [];
  const additionals = m.additionals ?? [];
  const edns = m.edns ?? null;
  const flags =
    (m.qr === true ? DNS_FLAG_QR : 0) |
    (intInRange('dns: opcode', m.opcode ?? 0, 0, OPCODE_MAX) << DNS_OPCODE_SHIFT) |
    (m.aa === true ? DNS_FLAG_AA : 0) |
    (m.tc === true ? DNS_FLAG_TC : 0) |
    (m.rd === true ? DNS_FLAG_RD : 0) |
    (m.ra === true ? DNS_FLAG_RA : 0) |
    (m.z === true ? DNS_FLAG_Z : 0) |
    (m.ad === true ? DNS_FLAG_AD : 0) |
    (m.cd === true ? DNS_FLAG_CD : 0) |
    intInRange('dns: rcode', m.rcode ?? 0, 0, RCODE_MAX);
  w.u16(u16Arg('id', m.id ?? 0));
  w.u16(flags);
  w.u16(countArg('questions', questions.length));
  w.u16(countArg('answers', answers.length));
  w.u16(countArg('authorities', authorities.length));
  w.u16(countArg('additionals', additionals.length + (edns !== null ? 1 : 0)));
  for (const q of questions) {
    w.name(q.name, true);
    w.u16(u16Arg('question type', q.type));
    w.u16(u16Arg('question class', q.class));
  }
  for (const r of answers) writeRecord(w, r);
  for (const r of authorities) writeRecord(w, r);
  for (const r of additionals) writeRecord(w, r);
  if (edns !== null) writeEdns(w, edns);
  const len = w.pos - w.start;
  if (len > DNS_MAX_MESSAGE_LEN) throw new PktRangeError(`dns: message is ${len} bytes, expected at most 65535`);
}

/**
 * The number of bytes `emitDns` writes for `m`, compression included.
 * @throws {PktTypeError} on a bad name (a label empty or over 63 bytes, a name over 255 bytes),
 *   a bad address, or data of the wrong shape for its type.
 * @throws {PktRangeError} on a number out of its field's range or a message over 65535 bytes.
 */
export function dnsEmitLen(m: DnsMessageInit): number {
  const w = new DnsWriter(null, 0);
  writeMessage(w, m);
  return w.pos;
}

/**
 * Writes `m` at `off` in `buf` with name compression and returns the number of bytes written.
 * Everything is validated before the first byte is written.
 * @throws {PktTypeError} / {PktRangeError} as `dnsEmitLen`, and PktRangeError when `buf` has
 *   no room for the message at `off`.
 */
export function emitDns(m: DnsMessageInit, buf: Uint8Array, off: number): number {
  const n = dnsEmitLen(m);
  if (!Number.isInteger(off) || off < 0 || off + n > buf.length) {
    throw new PktRangeError(`dns: message needs ${n} bytes at offset ${String(off)}, buffer has ${buf.length}`);
  }
  const w = new DnsWriter(buf, off);
  writeMessage(w, m);
  return w.pos - off;
}

export interface DnsQueryOptions {
  /** Recursion Desired; default true (a stub resolver asks a recursive server). */
  rd?: boolean;
  /** Add an OPT record: `true` for the defaults (1232-byte payload, version 0), or its fields. */
  edns?: boolean | Partial<DnsEdns>;
  /** QCLASS; default IN. */
  class?: number;
}

/**
 * A one-question query (opcode QUERY) as new bytes.
 * @throws {PktTypeError} on a bad name, {PktRangeError} on an id or type outside 16 bits.
 */
export function buildQuery(id: number, name: string, type: number, opts: DnsQueryOptions = {}): Uint8Array {
  const edns = opts.edns === true ? {} : opts.edns === false || opts.edns === undefined ? null : opts.edns;
  const m: DnsMessageInit = {
    id,
    rd: opts.rd ?? true,
    questions: [{ name, type, class: opts.class ?? DnsClass.IN }],
    edns,
  };
  const out = new Uint8Array(dnsEmitLen(m));
  emitDns(m, out, 0);
  return out;
}
