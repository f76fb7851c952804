/**
 * DNS messages (RFC 1035 §4.1): the header, a zero-allocation reader over questions and
 * resource records, and the constants of the record types pktkit speaks. Names are in
 * dns-name.ts. The plain-object form of a message (`DnsMessage`) is declared at the end of this
 * file; the cold-path decoder and the emitter that use it are in dns-codec.ts.
 *
 *                                   1  1  1  1  1  1
 *     0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                      ID                       |
 *   |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |   AD, CD: RFC 4035 §3.2 (Z is RFC 1035's)
 *   |                    QDCOUNT                    |
 *   |                    ANCOUNT                    |
 *   |                    NSCOUNT                    |
 *   |                    ARCOUNT                    |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   question:  QNAME QTYPE(16) QCLASS(16)                                   (§4.1.2)
 *   record:    NAME TYPE(16) CLASS(16) TTL(32) RDLENGTH(16) RDATA          (§4.1.3)
 *
 * `DnsView` reads and writes the header in place; `DnsReader` walks the sections one entry at a
 * time and exposes each entry's name offset, type, class, TTL and rdata bounds, validating names
 * (dns-name.ts) and lengths as it goes, so that a resolver can check an answer against its
 * question without building a string. EDNS(0) (RFC 6891 §6.1) is read from the OPT record's
 * CLASS and TTL fields through the reader's `edns…` getters.
 *
 * Deliberately not here: DNSSEC validation (the AD, CD and DO bits are carried, RRSIG and friends
 * are opaque rdata), zone transfers (AXFR/IXFR), dynamic update (RFC 2136) semantics, DNS over
 * TCP framing (the 2-byte length prefix is the transport's), mDNS's unicast-response and
 * cache-flush bits (read them from the class yourself), and IDNA.
 */

import { EMPTY_BYTES, be16, be32i, setBe16 } from './bytes.js';
import { DNS_HEADER_LEN, dnsNameEquals, dnsSkipName } from './dns-name.js';
import { WireStatus } from './status.js';

export { DNS_HEADER_LEN } from './dns-name.js';

// RFC 1035 §4.1.1 header fields.
const ID = 0;
const FLAGS = 2;
const QDCOUNT = 4;
const ANCOUNT = 6;
const NSCOUNT = 8;
const ARCOUNT = 10;

/** Bits of the 16-bit flags word (RFC 1035 §4.1.1; AD and CD from RFC 4035 §3.2). */
export const DNS_FLAG_QR = 0x8000;
export const DNS_FLAG_AA = 0x0400;
export const DNS_FLAG_TC = 0x0200;
export const DNS_FLAG_RD = 0x0100;
export const DNS_FLAG_RA = 0x0080;
/** Reserved, must be zero (RFC 1035 §4.1.1). */
export const DNS_FLAG_Z = 0x0040;
export const DNS_FLAG_AD = 0x0020;
export const DNS_FLAG_CD = 0x0010;
export const DNS_OPCODE_SHIFT = 11;
const OPCODE_SHIFT = DNS_OPCODE_SHIFT;
const OPCODE_MASK = 0x0f;
const RCODE_MASK = 0x000f;
const HEADER_RCODE_BITS = 4;

// RFC 1035 §4.1.2 / §4.1.3: fixed fields after a question's or a record's name.
const Q_TYPE = 0;
const Q_CLASS = 2;
/** QTYPE + QCLASS. */
export const DNS_QUESTION_FIXED_LEN = 4;
const RR_TYPE = 0;
const RR_CLASS = 2;
const RR_TTL = 4;
const RR_RDLENGTH = 8;
/** TYPE + CLASS + TTL + RDLENGTH. */
export const DNS_RR_FIXED_LEN = 10;

/** The largest message (a DNS message over TCP has a 16-bit length; UDP payloads are smaller). */
export const DNS_MAX_MESSAGE_LEN = 0xffff;
/** RFC 1035 §4.2.1: the classic UDP limit without EDNS(0). */
export const DNS_UDP_CLASSIC_LEN = 512;

/** RR TYPEs (RFC 1035 §3.2.2, §3.2.3; AAAA RFC 3596; SRV RFC 2782; OPT RFC 6891). */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  /** QTYPE only: "*", all records. */
  ANY: 255,
} as const;

/** CLASSes (RFC 1035 §3.2.4, §3.2.5). */
export const DnsClass = {
  IN: 1,
  CH: 3,
  /** QCLASS only. */
  ANY: 255,
} as const;

/** OPCODEs (RFC 1035 §4.1.1; NOTIFY RFC 1996; UPDATE RFC 2136). */
export const DnsOpcode = {
  Query: 0,
  IQuery: 1,
  Status: 2,
  Notify: 4,
  Update: 5,
} as const;

/** RCODEs (RFC 1035 §4.1.1; BADVERS, 16, needs EDNS's extended RCODE: RFC 6891 §9). */
export const DnsRcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NXDomain: 3,
  NotImp: 4,
  Refused: 5,
  BadVers: 16,
} as const;

// RFC 6891 §6.1.3: the OPT record's TTL is EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15).
const EDNS_EXT_RCODE_SHIFT = 24;
const EDNS_VERSION_SHIFT = 16;
const EDNS_BYTE_MASK = 0xff;
/** DNSSEC OK (RFC 3225), the top bit of the OPT TTL's low 16 bits. */
export const EDNS_FLAG_DO = 0x8000;
const EDNS_FLAGS_MASK = 0xffff;
/** A common EDNS(0) payload size: the 2020 DNS flag day's, which avoids IP fragmentation. */
export const EDNS_DEFAULT_UDP_SIZE = 1232;

/** A reusable view over a DNS header in place. Not safe to share across reentrant calls. */
export class DnsView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;

  /** Points the view at the `len`-byte message at `off`. Call `check()` before the accessors. */
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /**
   * The header fits (12 bytes). After Ok every accessor below reads in bounds; the sections are
   * walked, and checked, by `DnsReader`.
   */
  check(): WireStatus {
    return this.len < DNS_HEADER_LEN ? WireStatus.Truncated : WireStatus.Ok;
  }

  get id(): number {
    return be16(this.buf, this.off + ID);
  }
  set id(v: number) {
    setBe16(this.buf, this.off + ID, v);
  }
  /** The whole flags word. */
  get flags(): number {
    return be16(this.buf, this.off + FLAGS);
  }
  set flags(v: number) {
    setBe16(this.buf, this.off + FLAGS, v);
  }
  private flag(bit: number): boolean {
    return (be16(this.buf, this.off + FLAGS) & bit) !== 0;
  }
  private setFlag(bit: number, on: boolean): void {
    const w = be16(this.buf, this.off + FLAGS);
    setBe16(this.buf, this.off + FLAGS, on ? w | bit : w & ~bit);
  }
  /** True for a response. */
  get qr(): boolean {
    return this.flag(DNS_FLAG_QR);
  }
  set qr(v: boolean) {
    this.setFlag(DNS_FLAG_QR, v);
  }
  get opcode(): number {
    return (be16(this.buf, this.off + FLAGS) >>> OPCODE_SHIFT) & OPCODE_MASK;
  }
  set opcode(v: number) {
    const w = be16(this.buf, this.off + FLAGS);
    setBe16(this.buf, this.off + FLAGS, (w & ~(OPCODE_MASK << OPCODE_SHIFT)) | ((v & OPCODE_MASK) << OPCODE_SHIFT));
  }
  /** Authoritative Answer. */
  get aa(): boolean {
    return this.flag(DNS_FLAG_AA);
  }
  set aa(v: boolean) {
    this.setFlag(DNS_FLAG_AA, v);
  }
  /** TrunCation: the answer did not fit; retry over TCP. */
  get tc(): boolean {
    return this.flag(DNS_FLAG_TC);
  }
  set tc(v: boolean) {
    this.setFlag(DNS_FLAG_TC, v);
  }
  /** Recursion Desired. */
  get rd(): boolean {
    return this.flag(DNS_FLAG_RD);
  }
  set rd(v: boolean) {
    this.setFlag(DNS_FLAG_RD, v);
  }
  /** Recursion Available. */
  get ra(): boolean {
    return this.flag(DNS_FLAG_RA);
  }
  set ra(v: boolean) {
    this.setFlag(DNS_FLAG_RA, v);
  }
  /** The reserved Z bit. */
  get z(): boolean {
    return this.flag(DNS_FLAG_Z);
  }
  set z(v: boolean) {
    this.setFlag(DNS_FLAG_Z, v);
  }
  /** Authentic Data (RFC 4035 §3.2.3): the server validated it. Not checked by pktkit. */
  get ad(): boolean {
    return this.flag(DNS_FLAG_AD);
  }
  set ad(v: boolean) {
    this.setFlag(DNS_FLAG_AD, v);
  }
  /** Checking Disabled (RFC 4035 §3.2.2). */
  get cd(): boolean {
    return this.flag(DNS_FLAG_CD);
  }
  set cd(v: boolean) {
    this.setFlag(DNS_FLAG_CD, v);
  }
  /** The header's 4-bit RCODE (EDNS adds 8 high bits in the OPT record). */
  get rcode(): number {
    return be16(this.buf, this.off + FLAGS) & RCODE_MASK;
  }
  set rcode(v: number) {
    const w = be16(this.buf, this.off + FLAGS);
    setBe16(this.buf, this.off + FLAGS, (w & ~RCODE_MASK) | (v & RCODE_MASK));
  }
  get qdCount(): number {
    return be16(this.buf, this.off + QDCOUNT);
  }
  set qdCount(v: number) {
    setBe16(this.buf, this.off + QDCOUNT, v);
  }
  get anCount(): number {
    return be16(this.buf, this.off + ANCOUNT);
  }
  set anCount(v: number) {
    setBe16(this.buf, this.off + ANCOUNT, v);
  }
  get nsCount(): number {
    return be16(this.buf, this.off + NSCOUNT);
  }
  set nsCount(v: number) {
    setBe16(this.buf, this.off + NSCOUNT, v);
  }
  get arCount(): number {
    return be16(this.buf, this.off + ARCOUNT);
  }
  set arCount(v: number) {
    setBe16(this.buf, this.off + ARCOUNT, v);
  }
}

/** Sections of a message, in wire order, as `DnsReader.section` reports them. */
export const DnsSection = {
  Question: 0,
  Answer: 1,
  Authority: 2,
  Additional: 3,
  /** Past the last entry, or stopped on an error. */
  End: 4,
} as const;
export type DnsSection = (typeof DnsSection)[keyof typeof DnsSection];

/**
 * A zero-allocation cursor over the questions and records of a message, in wire order.
 *
 *   rd.reset(buf, off, len);
 *   while (rd.next()) {
 *     if (rd.section === DnsSection.Answer && rd.type === DnsType.A && rd.rdataLen === 4 &&
 *         rd.nameEquals(qname, 0, qname.length, 0)) addr = be32(rd.buf, rd.rdataOff);
 *   }
 *   if (rd.status !== WireStatus.Ok) drop(rd.status);
 *
 * `next()` validates the entry's name (pointers and all, see dns-name.ts), that its fixed fields
 * and its RDLENGTH bytes of rdata lie inside the message, and nothing more: names inside rdata
 * (CNAME, MX, …) are validated by whichever name helper reads them. Counts larger than the
 * message stop the walk with Truncated; each entry takes at least 5 bytes and each name costs
 * bounded work, so a walk is linear in the message length. Bytes after the last counted record
 * are ignored (`pos` tells where it ended).
 *
 * Fields describe the current entry and are valid until the next `next()` or `reset()`; the
 * bytes are borrowed from `buf`. For a question `ttl` is 0, `rdataLen` 0, and `rdataOff` the
 * offset after it. Reuse one reader; not safe to share across reentrant calls.
 */
export class DnsReader {
  buf: Uint8Array = EMPTY_BYTES;
  /** Start of the message: compression offsets count from here. */
  off = 0;
  /** End of the message (exclusive). */
  end = 0;
  /** Next byte to read. */
  pos = 0;
  /** Section of the current entry (DnsSection). */
  section: DnsSection = DnsSection.End;
  /** Index of the current entry within its section. */
  index = -1;
  qdCount = 0;
  anCount = 0;
  nsCount = 0;
  arCount = 0;
  /** Offset of the current entry's name. */
  nameOff = 0;
  type = 0;
  class = 0;
  /** The TTL as an int32, so that the field stays a small integer; see `ttl`. */
  ttlBits = 0;
  rdataOff = 0;
  rdataLen = 0;
  /** Ok, or why the walk stopped early. */
  status: WireStatus = WireStatus.Ok;

  /**
   * Points the reader at the `len`-byte message at `off` (borrowed: keep it unchanged while
   * reading). A message shorter than the header sets `status` to Truncated.
   */
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.end = off + len;
    this.pos = off + DNS_HEADER_LEN;
    this.index = -1;
    this.nameOff = 0;
    this.type = 0;
    this.class = 0;
    this.ttlBits = 0;
    this.rdataOff = 0;
    this.rdataLen = 0;
    if (len < DNS_HEADER_LEN) {
      this.qdCount = this.anCount = this.nsCount = this.arCount = 0;
      this.section = DnsSection.End;
      this.status = WireStatus.Truncated;
      return this;
    }
    this.qdCount = be16(buf, off + QDCOUNT);
    this.anCount = be16(buf, off + ANCOUNT);
    this.nsCount = be16(buf, off + NSCOUNT);
    this.arCount = be16(buf, off + ARCOUNT);
    this.section = DnsSection.Question;
    this.status = WireStatus.Ok;
    return this;
  }

  private countOf(section: number): number {
    return section === DnsSection.Question
      ? this.qdCount
      : section === DnsSection.Answer
        ? this.anCount
        : section === DnsSection.Authority
          ? this.nsCount
          : this.arCount;
  }

  /** Advances to the next question or record. False at the end, or on an error (see `status`). */
  next(): boolean {
    if (this.section === DnsSection.End) return false;
    this.index++;
    while (this.index >= this.countOf(this.section)) {
      if (this.section === DnsSection.Additional) {
        this.section = DnsSection.End;
        return false;
      }
      this.section = (this.section + 1) as DnsSection;
      this.index = 0;
    }
    const b = this.buf;
    const p = dnsSkipName(b, this.off, this.end, this.pos);
    if (p < 0) return this.fail(-p as WireStatus);
    this.nameOff = this.pos;
    if (this.section === DnsSection.Question) {
      if (p + DNS_QUESTION_FIXED_LEN > this.end) return this.fail(WireStatus.Truncated);
      this.type = be16(b, p + Q_TYPE);
      this.class = be16(b, p + Q_CLASS);
      this.ttlBits = 0;
      this.rdataOff = p + DNS_QUESTION_FIXED_LEN;
      this.rdataLen = 0;
      this.pos = this.rdataOff;
      return true;
    }
    if (p + DNS_RR_FIXED_LEN > this.end) return this.fail(WireStatus.Truncated);
    const rdLen = be16(b, p + RR_RDLENGTH);
    const rdOff = p + DNS_RR_FIXED_LEN;
    if (rdOff + rdLen > this.end) return this.fail(WireStatus.Truncated);
    this.type = be16(b, p + RR_TYPE);
    this.class = be16(b, p + RR_CLASS);
    this.ttlBits = be32i(b, p + RR_TTL);
    this.rdataOff = rdOff;
    this.rdataLen = rdLen;
    this.pos = rdOff + rdLen;
    return true;
  }

  private fail(st: WireStatus): false {
    this.status = st;
    this.section = DnsSection.End;
    return false;
  }

  /**
   * The record's TTL in seconds as sent (uint32). RFC 2181 §8 asks receivers to treat values
   * with the top bit set as 0; that policy is the caller's.
   */
  get ttl(): number {
    return this.ttlBits >>> 0;
  }

  /**
   * True when the current entry's name equals the name at `otherOff` in the message
   * `other[otherMsgOff, otherMsgEnd)`, ASCII case-insensitively (see `dnsNameEquals`).
   */
  nameEquals(other: Uint8Array, otherMsgOff: number, otherMsgEnd: number, otherOff: number): boolean {
    return dnsNameEquals(this.buf, this.off, this.end, this.nameOff, other, otherMsgOff, otherMsgEnd, otherOff);
  }

  /** For an OPT record (RFC 6891 §6.1.2): the sender's UDP payload size, from CLASS. */
  get ednsUdpSize(): number {
    return this.class;
  }
  /** For an OPT record: the upper 8 bits of the 12-bit RCODE (RFC 6891 §6.1.3). */
  get ednsExtRcode(): number {
    return (this.ttlBits >>> EDNS_EXT_RCODE_SHIFT) & EDNS_BYTE_MASK;
  }
  /** For an OPT record: the EDNS version (0 today). */
  get ednsVersion(): number {
    return (this.ttlBits >>> EDNS_VERSION_SHIFT) & EDNS_BYTE_MASK;
  }
  /** For an OPT record: the DNSSEC OK bit (RFC 3225). */
  get ednsDo(): boolean {
    return (this.ttlBits & EDNS_FLAG_DO) !== 0;
  }
  /** For an OPT record: the 16 flag bits (DO and the 15 reserved Z bits). */
  get ednsFlags(): number {
    return this.ttlBits & EDNS_FLAGS_MASK;
  }
}

// ---------------------------------------------------------------------------------------------
// Plain-object form (decodeDns and emitDns in dns-codec.ts)

export interface DnsQuestion {
  /** Text form (dns-name.ts): 'www.example.com', the root as '.'. */
  name: string;
  type: number;
  class: number;
}

interface DnsRecordCommon {
  name: string;
  class: number;
  /** Seconds (uint32). */
  ttl: number;
}
export interface DnsAddressRecord extends DnsRecordCommon {
  type: typeof DnsType.A | typeof DnsType.AAAA;
  /** '192.0.2.1' or RFC 5952 text. */
  data: string;
}
export interface DnsNameRecord extends DnsRecordCommon {
  type: typeof DnsType.NS | typeof DnsType.CNAME | typeof DnsType.PTR;
  data: string;
}
export interface DnsMx {
  preference: number;
  exchange: string;
}
export interface DnsMxRecord extends DnsRecordCommon {
  type: typeof DnsType.MX;
  data: DnsMx;
}
export interface DnsTxtRecord extends DnsRecordCommon {
  type: typeof DnsType.TXT;
  /** The character-strings, each 0-255 bytes. On emit, strings are UTF-8 encoded. */
  data: (Uint8Array | string)[];
}
export interface DnsSoa {
  mname: string;
  /** The mailbox, '.' for '@'. */
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export interface DnsSoaRecord extends DnsRecordCommon {
  type: typeof DnsType.SOA;
  data: DnsSoa;
}
export interface DnsSrv {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export interface DnsSrvRecord extends DnsRecordCommon {
  type: typeof DnsType.SRV;
  data: DnsSrv;
}
/**
 * A record of any type with its rdata as bytes: what the decoder gives for types it does not
 * decode. On emit raw bytes are accepted for every type and written as they are.
 */
export interface DnsRawRecord extends DnsRecordCommon {
  type: number;
  data: Uint8Array;
}
export type DnsRecord =
  | DnsAddressRecord
  | DnsNameRecord
  | DnsMxRecord
  | DnsTxtRecord
  | DnsSoaRecord
  | DnsSrvRecord
  | DnsRawRecord;

export interface DnsEdnsOption {
  code: number;
  data: Uint8Array;
}
/** EDNS(0), from and to the OPT pseudo-record (RFC 6891 §6.1). */
export interface DnsEdns {
  /** The sender's UDP payload size (OPT CLASS). */
  udpSize: number;
  /** Upper 8 bits of the 12-bit RCODE. */
  extRcode: number;
  version: number;
  /** DNSSEC OK (RFC 3225). */
  do: boolean;
  /** The 15 other flag bits, reserved (sent as 0). */
  z: number;
  options: DnsEdnsOption[];
}

/** A whole message; what `decodeDns` returns. */
export interface DnsMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** The header's 4 bits; see `dnsFullRcode` for the EDNS-extended value. */
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  /** Without the OPT record, which is `edns`. */
  additionals: DnsRecord[];
  edns: DnsEdns | null;
}

/** What the emitter accepts: a DnsMessage where anything left out is 0, false, empty or absent. */
export type DnsMessageInit = Partial<Omit<DnsMessage, 'edns'>> & { edns?: Partial<DnsEdns> | null };

/** The 12-bit RCODE: the header's 4 bits plus EDNS's 8 (RFC 6891 §6.1.3). */
export function dnsFullRcode(m: DnsMessage): number {
  return ((m.edns?.extRcode ?? 0) << HEADER_RCODE_BITS) | m.rcode;
}

/** True when `r` is a decoded record of type `type` (its data in decoded form, not raw bytes). */
export function isDnsRecord<T extends DnsRecord['type']>(
  r: DnsRecord,
  type: T,
): r is Exclude<DnsRecord, DnsRawRecord> & { type: T } {
  return r.type === type && !(r.data instanceof Uint8Array);
}
