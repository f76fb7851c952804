/**
 * DHCPv4 messages: the fixed BOOTP format (RFC 2131 §2), the magic cookie and the options of
 * RFC 2132 a client and a server need, and Option Overload into the `file` and `sname` fields
 * (RFC 2131 §4.1, RFC 2132 §9.3).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------+---------------+---------------+---------------+
 *   |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
 *   |                            xid (4)                            |
 *   |           secs (2)            |           flags (2)           |
 *   |                          ciaddr  (4)                          |
 *   |                          yiaddr  (4)                          |
 *   |                          siaddr  (4)                          |
 *   |                          giaddr  (4)                          |
 *   |                          chaddr  (16)                         |
 *   |                          sname   (64)                         |
 *   |                          file    (128)                        |
 *   |              magic cookie 99.130.83.99 (4, RFC 2131 §3)       |
 *   |                          options (variable)                   |
 *
 * `DhcpView` reads and writes the fixed header in place. `DhcpOptionCursor` (dhcp-options.ts,
 * re-exported here) walks the options without allocating, continuing into `file` and then
 * `sname` when option 52 says so, each byte visited at most once. `DhcpFields` is the parsed
 * message: the fixed header, the options a client and a server act on as typed fields, and
 * every other option kept raw in `extraOptions`.
 *
 * Allocation: DHCP is not a line-rate path (a handful of messages per lease), so `parseDhcp`
 * allocates for what has a variable size (strings, address lists, byte options, the raw other
 * options). The fixed header and the scalar options (message type, addresses, times, sizes) are
 * read without allocating, and the cursor allocates nothing, for code that wants one option out
 * of a message on a busier path (a relay, a switch snooping DHCP).
 *
 * Not here: RFC 3396 concatenation of an option split into several instances (a repeated typed
 * option replaces the earlier one; repeated others are all kept raw); the meaning of the
 * options kept raw (relay agent information, vendor classes, classless routes); `chaddr` for
 * hardware other than Ethernet (read it through `DhcpView.chaddrOff`; `DhcpFields.chaddr` is
 * the MAC for htype 1 / hlen 6, else 0); emitting with Option Overload (emit grows the options
 * field instead); DHCPv6; any protocol state.
 */

import { PktRangeError, PktTypeError } from '../errors.js';
import { EMPTY_BYTES, be16, be32, readMac, setBe16, setBe32, writeMac } from './bytes.js';
import {
  DHCP_OVERLOAD_FILE,
  DHCP_OVERLOAD_SNAME,
  DhcpOption,
  DhcpOptionCursor,
} from './dhcp-options.js';
import { WireStatus, wireFormatError } from './status.js';

export {
  DHCP_OVERLOAD_BOTH,
  DHCP_OVERLOAD_FILE,
  DHCP_OVERLOAD_SNAME,
  DhcpOption,
  DhcpOptionCursor,
} from './dhcp-options.js';

const OP = 0;
const HTYPE = 1;
const HLEN = 2;
const HOPS = 3;
const XID = 4;
const SECS = 8;
const FLAGS = 10;
const CIADDR = 12;
const YIADDR = 16;
const SIADDR = 20;
const GIADDR = 24;
const CHADDR = 28;
const SNAME = 44;
const FILE = 108;
const COOKIE = 236;
const OPTIONS = 240;

const CHADDR_LEN = 16;
const SNAME_LEN = 64;
const FILE_LEN = 128;
/** An option is code, length, then `length` bytes of data (RFC 2132 §2). */
const OPT_LEN = 1;
const OPT_HDR_LEN = 2;
const OPT_MAX_DATA_LEN = 255;
const IPV4_ADDR_LEN = 4;
const ETHER_ADDR_LEN = 6;
// Data lengths RFC 2132 gives typed options (§9.6, §9.10, §9.14).
const MESSAGE_TYPE_LEN = 1;
const MAX_MESSAGE_SIZE_LEN = 2;
const CLIENT_ID_MIN_LEN = 2;
const END_OPTION_LEN = 1;

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
/** RFC 2131 §3: the first four octets of the options field, 99.130.83.99. */
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** The fixed header and the magic cookie: the shortest DHCP message. */
export const DHCP_MIN_LEN = OPTIONS;
/**
 * RFC 1542 §2.1: the UDP data of a BOOTP message is at least the 300 octets of RFC 951's format
 * (with its 64-byte vendor area); some relays and clients drop shorter ones. `emitDhcp` pads to it.
 */
export const BOOTP_MIN_LEN = 300;
/** The BROADCAST bit of `flags` (RFC 2131 §2, figure 2); the other 15 bits must be zero. */
export const DHCP_FLAG_BROADCAST = 0x8000;
/** htype for Ethernet (IANA ARP hardware types), whose hlen is 6. */
export const DHCP_HTYPE_ETHERNET = 1;

/** `op` (RFC 2131 §2). */
export const DhcpOp = {
  BootRequest: 1,
  BootReply: 2,
} as const;

/** DHCP Message Type, option 53 (RFC 2132 §9.6). */
export const DhcpMessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;

/** A reusable view over a DHCP message's fixed header in place. Not safe to share across reentrant calls. */
export class DhcpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;

  /** Points the view at the `len`-byte message (the UDP payload) at `off`. Call `check()` first. */
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /**
   * The one check at the trust boundary: at least 240 bytes, the magic cookie, op 1 or 2, and
   * hlen at most 16. After Ok every accessor below reads in bounds. Options are checked by the
   * cursor (`parseDhcp` reports a malformed one), not here.
   */
  check(): WireStatus {
    if (this.len < DHCP_MIN_LEN) return WireStatus.Truncated;
    const b = this.buf;
    const o = this.off;
    if (be32(b, o + COOKIE) !== DHCP_MAGIC_COOKIE) return WireStatus.BadValue;
    const op = b[o + OP]!;
    if (op !== DhcpOp.BootRequest && op !== DhcpOp.BootReply) return WireStatus.BadValue;
    if (b[o + HLEN]! > CHADDR_LEN) return WireStatus.BadValue;
    return WireStatus.Ok;
  }

  get op(): number {
    return this.buf[this.off + OP]!;
  }
  set op(v: number) {
    this.buf[this.off + OP] = v;
  }
  get htype(): number {
    return this.buf[this.off + HTYPE]!;
  }
  set htype(v: number) {
    this.buf[this.off + HTYPE] = v;
  }
  get hlen(): number {
    return this.buf[this.off + HLEN]!;
  }
  set hlen(v: number) {
    this.buf[this.off + HLEN] = v;
  }
  get hops(): number {
    return this.buf[this.off + HOPS]!;
  }
  set hops(v: number) {
    this.buf[this.off + HOPS] = v;
  }
  /** Transaction ID (uint32). */
  get xid(): number {
    return be32(this.buf, this.off + XID);
  }
  set xid(v: number) {
    setBe32(this.buf, this.off + XID, v);
  }
  get secs(): number {
    return be16(this.buf, this.off + SECS);
  }
  set secs(v: number) {
    setBe16(this.buf, this.off + SECS, v);
  }
  get flags(): number {
    return be16(this.buf, this.off + FLAGS);
  }
  set flags(v: number) {
    setBe16(this.buf, this.off + FLAGS, v);
  }
  /** The BROADCAST flag: the client cannot take unicast before it has an address. */
  get broadcast(): boolean {
    return (be16(this.buf, this.off + FLAGS) & DHCP_FLAG_BROADCAST) !== 0;
  }
  set broadcast(v: boolean) {
    const w = be16(this.buf, this.off + FLAGS);
    setBe16(this.buf, this.off + FLAGS, v ? w | DHCP_FLAG_BROADCAST : w & ~DHCP_FLAG_BROADCAST);
  }
  /** Client address (uint32), when the client already has one. */
  get ciaddr(): number {
    return be32(this.buf, this.off + CIADDR);
  }
  set ciaddr(v: number) {
    setBe32(this.buf, this.off + CIADDR, v);
  }
  /** "Your" address (uint32): the one the server offers or assigns. */
  get yiaddr(): number {
    return be32(this.buf, this.off + YIADDR);
  }
  set yiaddr(v: number) {
    setBe32(this.buf, this.off + YIADDR, v);
  }
  /** Next server (uint32), for the boot stage. */
  get siaddr(): number {
    return be32(this.buf, this.off + SIADDR);
  }
  set siaddr(v: number) {
    setBe32(this.buf, this.off + SIADDR, v);
  }
  /** Relay agent address (uint32). */
  get giaddr(): number {
    return be32(this.buf, this.off + GIADDR);
  }
  set giaddr(v: number) {
    setBe32(this.buf, this.off + GIADDR, v);
  }
  /** The first 6 bytes of chaddr as a 48-bit MAC: the client's MAC when htype 1, hlen 6. */
  get chaddr(): number {
    return readMac(this.buf, this.off + CHADDR);
  }
  /** Writes a MAC into the first 6 bytes of chaddr (the other 10 are left as they are). */
  set chaddr(mac: number) {
    writeMac(this.buf, this.off + CHADDR, mac);
  }
  get magicCookie(): number {
    return be32(this.buf, this.off + COOKIE);
  }
  set magicCookie(v: number) {
    setBe32(this.buf, this.off + COOKIE, v);
  }
  /** Offsets (in `buf`) of the 16-byte chaddr, 64-byte sname and 128-byte file fields. */
  get chaddrOff(): number {
    return this.off + CHADDR;
  }
  get snameOff(): number {
    return this.off + SNAME;
  }
  get fileOff(): number {
    return this.off + FILE;
  }
  /** Offset (in `buf`) of the options field, after the cookie, and its length in bytes. */
  get optionsOff(): number {
    return this.off + OPTIONS;
  }
  get optionsLen(): number {
    return this.len - OPTIONS;
  }
}

/** An empty address list, shared (frozen) so that parsing a message without one allocates nothing. */
const NO_ADDRS: readonly number[] = Object.freeze([]);

/**
 * The parsed value of a DHCP message. Absent options: 0 for message type, addresses and sizes
 * (none of them is meaningful as 0), -1 for times, '' for strings, empty for lists and bytes.
 */
export interface DhcpFields {
  /** DhcpOp.BootRequest or BootReply. */
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  /** Transaction ID (uint32). */
  xid: number;
  secs: number;
  /** `flags` as on the wire: DHCP_FLAG_BROADCAST or 0. */
  flags: number;
  /** Addresses as uint32. */
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** Client MAC as a 48-bit number when htype is 1 and hlen 6; else 0. */
  chaddr: number;
  /** Server host name and boot file name ('' when empty or used for options). */
  sname: string;
  file: string;
  /** Option 53 (DhcpMessageType). */
  messageType: number;
  /** Option 50: the address a client asks for. */
  requestedIp: number;
  /** Option 54: the server's address, identifying it. */
  serverId: number;
  /** Options 51, 58, 59, in seconds (uint32; 0xffffffff is "infinite"); -1 when absent. */
  leaseSecs: number;
  renewalSecs: number;
  rebindingSecs: number;
  /** Option 1. */
  subnetMask: number;
  /** Options 3 and 6: addresses in order of preference. */
  routers: readonly number[];
  dnsServers: readonly number[];
  /** Options 15, 12 and 56 as Latin-1 text (trailing NULs, which some clients send, dropped). */
  domainName: string;
  hostName: string;
  message: string;
  /** Option 61: type byte then identifier. */
  clientId: Uint8Array;
  /** Option 55: the codes the client asks for, in its order. */
  paramRequestList: Uint8Array;
  /** Option 57: the largest message the client accepts, in bytes. */
  maxMessageSize: number;
  /**
   * Every other option, raw and in message order: code, length, data, ... (no pad, no end, no
   * option 52). Emitted as it is after the typed options; it must hold no option that has a
   * typed field above.
   */
  extraOptions: Uint8Array;
}

/** Fresh fields: a BOOTREQUEST over Ethernet with no options. */
export function newDhcpFields(): DhcpFields {
  return {
    op: DhcpOp.BootRequest,
    htype: DHCP_HTYPE_ETHERNET,
    hlen: ETHER_ADDR_LEN,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: 0,
    sname: '',
    file: '',
    messageType: 0,
    requestedIp: 0,
    serverId: 0,
    leaseSecs: -1,
    renewalSecs: -1,
    rebindingSecs: -1,
    subnetMask: 0,
    routers: NO_ADDRS,
    dnsServers: NO_ADDRS,
    domainName: '',
    hostName: '',
    message: '',
    clientId: EMPTY_BYTES,
    paramRequestList: EMPTY_BYTES,
    maxMessageSize: 0,
    extraOptions: EMPTY_BYTES,
  };
}

/** 1 for the codes that have a typed field in DhcpFields (and for 52, which is structure). */
const TYPED = new Uint8Array(256);
for (const code of [
  DhcpOption.SubnetMask,
  DhcpOption.Router,
  DhcpOption.DnsServer,
  DhcpOption.HostName,
  DhcpOption.DomainName,
  DhcpOption.RequestedIp,
  DhcpOption.LeaseTime,
  DhcpOption.Overload,
  DhcpOption.MessageType,
  DhcpOption.ServerId,
  DhcpOption.ParamRequestList,
  DhcpOption.Message,
  DhcpOption.MaxMessageSize,
  DhcpOption.RenewalTime,
  DhcpOption.RebindingTime,
  DhcpOption.ClientId,
]) {
  TYPED[code] = 1;
}

/** Latin-1 text of an option's data, trailing NULs dropped. */
function optionText(b: Uint8Array, off: number, len: number): string {
  let end = off + len;
  while (end > off && b[end - 1] === 0) end--;
  let s = '';
  for (let i = off; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Latin-1 text of a NUL-terminated fixed field (sname, file). '' allocates nothing. */
function fieldText(b: Uint8Array, off: number, size: number): string {
  let s = '';
  for (let i = off; i < off + size && b[i] !== 0; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function addrList(b: Uint8Array, off: number, len: number): number[] {
  const out = new Array<number>(len / IPV4_ADDR_LEN);
  for (let i = 0; i < out.length; i++) out[i] = be32(b, off + i * IPV4_ADDR_LEN);
  return out;
}

const walker = new DhcpOptionCursor();

/**
 * Checks `v` and fills `out`: the fixed header, the typed options and the raw others. A
 * malformed option list, or a typed option of the wrong length (RFC 2132: 1 byte for the message
 * type, 4 for an address or a time, 2 for the maximum size, a non-empty multiple of 4 for an
 * address list, at least 1 byte for text and the request list, at least 2 for a client id),
 * gives BadOption. On a status other than Ok, `out` may be partly written.
 */
export function parseDhcp(v: DhcpView, out: DhcpFields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  const b = v.buf;
  const o = v.off;
  out.messageType = 0;
  out.requestedIp = 0;
  out.serverId = 0;
  out.leaseSecs = -1;
  out.renewalSecs = -1;
  out.rebindingSecs = -1;
  out.subnetMask = 0;
  out.routers = NO_ADDRS;
  out.dnsServers = NO_ADDRS;
  out.domainName = '';
  out.hostName = '';
  out.message = '';
  out.clientId = EMPTY_BYTES;
  out.paramRequestList = EMPTY_BYTES;
  out.maxMessageSize = 0;
  let extraLen = 0;
  const cur = walker.reset(b, o, v.len);
  while (cur.next()) {
    const d = cur.dataOff;
    const n = cur.dataLen;
    switch (cur.code) {
      case DhcpOption.MessageType:
        if (n !== MESSAGE_TYPE_LEN) return WireStatus.BadOption;
        out.messageType = b[d]!;
        break;
      case DhcpOption.RequestedIp:
      case DhcpOption.ServerId:
      case DhcpOption.SubnetMask:
      case DhcpOption.LeaseTime:
      case DhcpOption.RenewalTime:
      case DhcpOption.RebindingTime: {
        if (n !== IPV4_ADDR_LEN) return WireStatus.BadOption;
        const w = be32(b, d);
        if (cur.code === DhcpOption.RequestedIp) out.requestedIp = w;
        else if (cur.code === DhcpOption.ServerId) out.serverId = w;
        else if (cur.code === DhcpOption.SubnetMask) out.subnetMask = w;
        else if (cur.code === DhcpOption.LeaseTime) out.leaseSecs = w;
        else if (cur.code === DhcpOption.RenewalTime) out.renewalSecs = w;
        else out.rebindingSecs = w;
        break;
      }
      case DhcpOption.Router:
      case DhcpOption.DnsServer:
        if (n === 0 || n % IPV4_ADDR_LEN !== 0) return WireStatus.BadOption;
        if (cur.code === DhcpOption.Router) out.routers = addrList(b, d, n);
        else out.dnsServers = addrList(b, d, n);
        break;
      case DhcpOption.HostName:
      case DhcpOption.DomainName:
      case DhcpOption.Message:
        if (n === 0) return WireStatus.BadOption;
        if (cur.code === DhcpOption.HostName) out.hostName = optionText(b, d, n);
        else if (cur.code === DhcpOption.DomainName) out.domainName = optionText(b, d, n);
        else out.message = optionText(b, d, n);
        break;
      case DhcpOption.ClientId:
        if (n < CLIENT_ID_MIN_LEN) return WireStatus.BadOption;
        out.clientId = b.slice(d, d + n);
        break;
      case DhcpOption.ParamRequestList:
        if (n === 0) return WireStatus.BadOption;
        out.paramRequestList = b.slice(d, d + n);
        break;
      case DhcpOption.MaxMessageSize:
        if (n !== MAX_MESSAGE_SIZE_LEN) return WireStatus.BadOption;
        out.maxMessageSize = be16(b, d);
        break;
      case DhcpOption.Overload:
        break;
      default:
        extraLen += OPT_HDR_LEN + n;
        break;
    }
  }
  if (cur.status !== WireStatus.Ok) return cur.status;
  const overload = cur.overload;
  if (extraLen === 0) {
    out.extraOptions = EMPTY_BYTES;
  } else {
    // A second walk, only when there are other options, copies them into one exact-size array.
    const extra = new Uint8Array(extraLen);
    let p = 0;
    cur.reset(b, o, v.len);
    while (cur.next()) {
      if (TYPED[cur.code] === 1) continue;
      const end = cur.dataOff + cur.dataLen;
      for (let i = cur.dataOff - OPT_HDR_LEN; i < end; i++) extra[p++] = b[i]!;
    }
    out.extraOptions = extra;
  }
  out.op = b[o + OP]!;
  out.htype = b[o + HTYPE]!;
  out.hlen = b[o + HLEN]!;
  out.hops = b[o + HOPS]!;
  out.xid = be32(b, o + XID);
  out.secs = be16(b, o + SECS);
  out.flags = be16(b, o + FLAGS);
  out.ciaddr = be32(b, o + CIADDR);
  out.yiaddr = be32(b, o + YIADDR);
  out.siaddr = be32(b, o + SIADDR);
  out.giaddr = be32(b, o + GIADDR);
  out.chaddr = out.htype === DHCP_HTYPE_ETHERNET && out.hlen === ETHER_ADDR_LEN ? readMac(b, o + CHADDR) : 0;
  out.sname = (overload & DHCP_OVERLOAD_SNAME) !== 0 ? '' : fieldText(b, o + SNAME, SNAME_LEN);
  out.file = (overload & DHCP_OVERLOAD_FILE) !== 0 ? '' : fieldText(b, o + FILE, FILE_LEN);
  return WireStatus.Ok;
}

function tooLong(field: string, max: number, got: number): PktRangeError {
  return new PktRangeError(`dhcp: ${field}: expected at most ${max} bytes, got ${got}`);
}

/** Bytes an option with `n` bytes of data takes, 0 when `n` is 0 (absent); checks the limit. */
function sized(field: string, n: number): number {
  if (n > OPT_MAX_DATA_LEN) throw tooLong(field, OPT_MAX_DATA_LEN, n);
  return n === 0 ? 0 : OPT_HDR_LEN + n;
}

function checkExtraOptions(e: Uint8Array): void {
  let i = 0;
  while (i < e.length) {
    const code = e[i]!;
    if (code === DhcpOption.Pad) {
      i++;
      continue;
    }
    const bad =
      code === DhcpOption.End ||
      TYPED[code] === 1 ||
      i + OPT_HDR_LEN > e.length ||
      i + OPT_HDR_LEN + e[i + OPT_LEN]! > e.length;
    if (bad) {
      throw new PktTypeError(
        `dhcp: extraOptions: expected code, length, data triples with no end and no typed option, ` +
          `got code ${code} at byte ${i} of ${e.length}`,
      );
    }
    i += OPT_HDR_LEN + e[i + OPT_LEN]!;
  }
}

/**
 * Length `emitDhcp` writes for `f`: 240 bytes of header and cookie, the options, the end option,
 * padded to BOOTP_MIN_LEN (300).
 * @throws {PktRangeError} when a string or list does not fit its field (an option holds at most
 *   255 bytes, so 63 addresses; sname 64 bytes, file 128).
 * @throws {PktTypeError} when `extraOptions` is not a well-formed list without typed options.
 */
export function dhcpEmitLen(f: DhcpFields): number {
  if (f.sname.length > SNAME_LEN) throw tooLong('sname', SNAME_LEN, f.sname.length);
  if (f.file.length > FILE_LEN) throw tooLong('file', FILE_LEN, f.file.length);
  checkExtraOptions(f.extraOptions);
  const scalar = OPT_HDR_LEN + IPV4_ADDR_LEN;
  let n = OPTIONS;
  if (f.messageType > 0) n += OPT_HDR_LEN + MESSAGE_TYPE_LEN;
  if (f.serverId !== 0) n += scalar;
  if (f.requestedIp !== 0) n += scalar;
  if (f.leaseSecs >= 0) n += scalar;
  if (f.renewalSecs >= 0) n += scalar;
  if (f.rebindingSecs >= 0) n += scalar;
  if (f.subnetMask !== 0) n += scalar;
  n += sized('routers', f.routers.length * IPV4_ADDR_LEN);
  n += sized('dnsServers', f.dnsServers.length * IPV4_ADDR_LEN);
  n += sized('domainName', f.domainName.length);
  n += sized('hostName', f.hostName.length);
  n += sized('clientId', f.clientId.length);
  n += sized('paramRequestList', f.paramRequestList.length);
  if (f.maxMessageSize > 0) n += OPT_HDR_LEN + MAX_MESSAGE_SIZE_LEN;
  n += sized('message', f.message.length);
  n += f.extraOptions.length + END_OPTION_LEN;
  return Math.max(n, BOOTP_MIN_LEN);
}

function putU32(buf: Uint8Array, p: number, code: number, v: number): number {
  buf[p] = code;
  buf[p + OPT_LEN] = IPV4_ADDR_LEN;
  setBe32(buf, p + OPT_HDR_LEN, v);
  return p + OPT_HDR_LEN + IPV4_ADDR_LEN;
}

function putAddrs(buf: Uint8Array, p: number, code: number, addrs: readonly number[]): number {
  if (addrs.length === 0) return p;
  buf[p] = code;
  buf[p + OPT_LEN] = addrs.length * IPV4_ADDR_LEN;
  p += OPT_HDR_LEN;
  for (let i = 0; i < addrs.length; i++, p += IPV4_ADDR_LEN) setBe32(buf, p, addrs[i]!);
  return p;
}

function putText(buf: Uint8Array, p: number, code: number, s: string): number {
  if (s.length === 0) return p;
  buf[p] = code;
  buf[p + OPT_LEN] = s.length;
  p += OPT_HDR_LEN;
  for (let i = 0; i < s.length; i++) buf[p + i] = s.charCodeAt(i);
  return p + s.length;
}

function putBytes(buf: Uint8Array, p: number, code: number, data: Uint8Array): number {
  if (data.length === 0) return p;
  buf[p] = code;
  buf[p + OPT_LEN] = data.length;
  buf.set(data, p + OPT_HDR_LEN);
  return p + OPT_HDR_LEN + data.length;
}

/** Writes `s` as Latin-1 into a `size`-byte field, NUL-padded (NUL-terminated when shorter). */
function putField(buf: Uint8Array, off: number, size: number, s: string): void {
  for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
  buf.fill(0, off + s.length, off + size);
}

/**
 * Writes the message for `f` at `off` and returns its length (`dhcpEmitLen(f)`). Options go in
 * a fixed order, message type first: 53, 54, 50, 51, 58, 59, 1, 3, 6, 15, 12, 61, 55, 57, 56,
 * then `extraOptions` as they are, then end (255) and zero padding to 300 bytes. Text is written
 * as Latin-1 (one byte per UTF-16 unit: pass ASCII). The caller guarantees room.
 * @throws {PktRangeError | PktTypeError} as `dhcpEmitLen`.
 */
export function emitDhcp(f: DhcpFields, buf: Uint8Array, off: number): number {
  const total = dhcpEmitLen(f);
  buf[off + OP] = f.op;
  buf[off + HTYPE] = f.htype;
  buf[off + HLEN] = f.hlen;
  buf[off + HOPS] = f.hops;
  setBe32(buf, off + XID, f.xid);
  setBe16(buf, off + SECS, f.secs);
  setBe16(buf, off + FLAGS, f.flags);
  setBe32(buf, off + CIADDR, f.ciaddr);
  setBe32(buf, off + YIADDR, f.yiaddr);
  setBe32(buf, off + SIADDR, f.siaddr);
  setBe32(buf, off + GIADDR, f.giaddr);
  writeMac(buf, off + CHADDR, f.chaddr);
  buf.fill(0, off + CHADDR + ETHER_ADDR_LEN, off + CHADDR + CHADDR_LEN);
  putField(buf, off + SNAME, SNAME_LEN, f.sname);
  putField(buf, off + FILE, FILE_LEN, f.file);
  setBe32(buf, off + COOKIE, DHCP_MAGIC_COOKIE);
  let p = off + OPTIONS;
  if (f.messageType > 0) {
    buf[p] = DhcpOption.MessageType;
    buf[p + OPT_LEN] = MESSAGE_TYPE_LEN;
    buf[p + OPT_HDR_LEN] = f.messageType;
    p += OPT_HDR_LEN + MESSAGE_TYPE_LEN;
  }
  if (f.serverId !== 0) p = putU32(buf, p, DhcpOption.ServerId, f.serverId);
  if (f.requestedIp !== 0) p = putU32(buf, p, DhcpOption.RequestedIp, f.requestedIp);
  if (f.leaseSecs >= 0) p = putU32(buf, p, DhcpOption.LeaseTime, f.leaseSecs);
  if (f.renewalSecs >= 0) p = putU32(buf, p, DhcpOption.RenewalTime, f.renewalSecs);
  if (f.rebindingSecs >= 0) p = putU32(buf, p, DhcpOption.RebindingTime, f.rebindingSecs);
  if (f.subnetMask !== 0) p = putU32(buf, p, DhcpOption.SubnetMask, f.subnetMask);
  p = putAddrs(buf, p, DhcpOption.Router, f.routers);
  p = putAddrs(buf, p, DhcpOption.DnsServer, f.dnsServers);
  p = putText(buf, p, DhcpOption.DomainName, f.domainName);
  p = putText(buf, p, DhcpOption.HostName, f.hostName);
  p = putBytes(buf, p, DhcpOption.ClientId, f.clientId);
  p = putBytes(buf, p, DhcpOption.ParamRequestList, f.paramRequestList);
  if (f.maxMessageSize > 0) {
    buf[p] = DhcpOption.MaxMessageSize;
    buf[p + OPT_LEN] = MAX_MESSAGE_SIZE_LEN;
    setBe16(buf, p + OPT_HDR_LEN, f.maxMessageSize);
    p += OPT_HDR_LEN + MAX_MESSAGE_SIZE_LEN;
  }
  p = putText(buf, p, DhcpOption.Message, f.message);
  buf.set(f.extraOptions, p);
  p += f.extraOptions.length;
  buf[p++] = DhcpOption.End;
  buf.fill(0, p, off + total);
  return total;
}

/**
 * Cold-path convenience: parses the message in `bytes` from `off` to the end into new fields.
 * @throws {WireFormatError} naming the reason when it is not a valid DHCP message.
 */
export function decodeDhcp(bytes: Uint8Array, off = 0): DhcpFields {
  const f = newDhcpFields();
  const st = parseDhcp(new DhcpView().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('dhcp', st, off);
  return f;
}
