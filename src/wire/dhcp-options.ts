/**
 * DHCPv4 options (RFC 2132 §2): the codes pktkit knows, and an allocation-free cursor that walks
 * the options of a message, including those in the `file` and `sname` fields when Option
 * Overload says so (RFC 2131 §4.1, RFC 2132 §9.3). The message itself is in dhcp.ts.
 *
 * Not here: what the options mean (dhcp.ts parses the ones a client and a server need), and
 * RFC 3396 concatenation of an option split into several instances (each instance is returned
 * on its own).
 */

import { EMPTY_BYTES } from './bytes.js';
import { WireStatus } from './status.js';

// Where the option areas are in a message (RFC 2131 §2; the same offsets as in dhcp.ts).
const SNAME = 44;
const SNAME_LEN = 64;
const FILE = 108;
const FILE_LEN = 128;
const OPTIONS = 240;

/** An option is code, length, then `length` bytes of data. */
const OPT_LEN = 1;
const OPT_HDR_LEN = 2;
const OVERLOAD_LEN = 1;

/** Option Overload values (RFC 2132 §9.3): 1 `file` holds options, 2 `sname` does, 3 both. */
export const DHCP_OVERLOAD_FILE = 1;
export const DHCP_OVERLOAD_SNAME = 2;
export const DHCP_OVERLOAD_BOTH = DHCP_OVERLOAD_FILE | DHCP_OVERLOAD_SNAME;

/** Option codes (RFC 2132) that pktkit knows. */
export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServer: 6,
  HostName: 12,
  DomainName: 15,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParamRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClientId: 61,
  End: 255,
} as const;

// The areas a cursor walks, in RFC 2131 §4.1 order.
const AREA_OPTIONS = 0;
const AREA_FILE = 1;
const AREA_SNAME = 2;
const AREA_DONE = 3;

/**
 * A zero-allocation cursor over DHCP options: code 0 is a pad byte, code 255 ends the area, any
 * other code is followed by a length byte and that many bytes of data (RFC 2132 §2).
 *
 * Over a whole message (`reset`) it walks the options field and then, when option 52 in that
 * field says so, `file` and then `sname` (RFC 2131 §4.1: options first, then file, then sname);
 * each area ends at code 255 or at its end. Option 52 is honoured only in the options field, and
 * is returned like any other option. `resetList` walks a bare list (such as `extraOptions`).
 * The walk is linear and bounded: each byte of each area is read at most once. A length that
 * runs past its area, or an Option Overload that is not 1 byte of 1-3, stops it with BadOption.
 *
 *   cur.reset(view.buf, view.off, view.len);   // after view.check() === Ok
 *   while (cur.next()) if (cur.code === DhcpOption.MessageType) type = buf[cur.dataOff];
 *   if (cur.status !== WireStatus.Ok) drop(cur.status);
 */
export class DhcpOptionCursor {
  buf: Uint8Array = EMPTY_BYTES;
  /** Offset of the message (its op byte), where file and sname are found; -1 for a bare list. */
  msgOff = -1;
  /** Next byte to read. */
  pos = 0;
  /** End of the current area (exclusive). */
  end = 0;
  /** The area being walked: options field, file, sname, or done. */
  area = AREA_DONE;
  /** The Option Overload value found in the options field (DHCP_OVERLOAD_* bits), or 0. */
  overload = 0;
  /** Code of the current option. */
  code = 0;
  /** Offset (in `buf`) of the current option's data, and its length. */
  dataOff = 0;
  dataLen = 0;
  /** Ok, or BadOption once a malformed option has stopped the walk. */
  status: WireStatus = WireStatus.Ok;

  /** Walks the message of `len` bytes at `off` (checked by `DhcpView.check()`). */
  reset(buf: Uint8Array, off: number, len: number): this {
    return this.start(buf, off, off + OPTIONS, off + len);
  }

  /** Walks a bare option list of `len` bytes at `off`: no cookie, no overload. */
  resetList(buf: Uint8Array, off: number, len: number): this {
    return this.start(buf, -1, off, off + len);
  }

  private start(buf: Uint8Array, msgOff: number, pos: number, end: number): this {
    this.buf = buf;
    this.msgOff = msgOff;
    this.pos = pos;
    this.end = end;
    this.area = AREA_OPTIONS;
    this.overload = 0;
    this.code = 0;
    this.dataOff = 0;
    this.dataLen = 0;
    this.status = WireStatus.Ok;
    return this;
  }

  /** Advances to the next option other than pad. Returns false at the end or on a bad option. */
  next(): boolean {
    const b = this.buf;
    for (;;) {
      while (this.pos < this.end) {
        const code = b[this.pos]!;
        if (code === DhcpOption.Pad) {
          this.pos++;
          continue;
        }
        if (code === DhcpOption.End) {
          this.pos = this.end;
          break;
        }
        if (this.pos + OPT_HDR_LEN > this.end) return this.fail();
        const n = b[this.pos + OPT_LEN]!;
        const dataOff = this.pos + OPT_HDR_LEN;
        if (dataOff + n > this.end) return this.fail();
        this.code = code;
        this.dataOff = dataOff;
        this.dataLen = n;
        this.pos = dataOff + n;
        if (code === DhcpOption.Overload && this.area === AREA_OPTIONS && this.msgOff >= 0) {
          const v = n === OVERLOAD_LEN ? b[dataOff]! : 0;
          if (v < DHCP_OVERLOAD_FILE || v > DHCP_OVERLOAD_BOTH) return this.fail();
          this.overload = v;
        }
        return true;
      }
      if (!this.nextArea()) return false;
    }
  }

  /** Moves to the next area option 52 asked for; false when there is none. */
  private nextArea(): boolean {
    const m = this.msgOff;
    if (this.area === AREA_OPTIONS && (this.overload & DHCP_OVERLOAD_FILE) !== 0) {
      this.area = AREA_FILE;
      this.pos = m + FILE;
      this.end = m + FILE + FILE_LEN;
      return true;
    }
    if ((this.area === AREA_OPTIONS || this.area === AREA_FILE) && (this.overload & DHCP_OVERLOAD_SNAME) !== 0) {
      this.area = AREA_SNAME;
      this.pos = m + SNAME;
      this.end = m + SNAME + SNAME_LEN;
      return true;
    }
    this.area = AREA_DONE;
    return false;
  }

  private fail(): false {
    this.status = WireStatus.BadOption;
    this.area = AREA_DONE;
    this.pos = this.end;
    return false;
  }
}
