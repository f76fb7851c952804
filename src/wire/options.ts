/**
 * A zero-allocation cursor over kind-length-value options, the layout shared by IPv4 options
 * (RFC 791 §3.1) and TCP options (RFC 9293 §3.1):
 *
 *   kind 0          end of option list (stops the walk)
 *   kind 1          no-operation (one byte)
 *   kind k, len n   n bytes in all, n >= 2, the data is the n - 2 bytes after the length
 *
 * The walk is linear and bounded by the option area; a length that is below 2 or runs past the
 * area stops it with WireStatus.BadOption. Usage:
 *
 *   cur.reset(buf, off, len);
 *   while (cur.next()) { switch (cur.kind) { case 2: mss = be16(buf, cur.dataOff); … } }
 *   if (cur.status !== WireStatus.Ok) drop(cur.status);
 */

import { EMPTY_BYTES } from './bytes.js';
import { WireStatus } from './status.js';

export const OPT_END = 0;
export const OPT_NOP = 1;

export class OptionCursor {
  buf: Uint8Array = EMPTY_BYTES;
  /** Next byte to read. */
  pos = 0;
  /** End of the option area (exclusive). */
  end = 0;
  /** Kind of the current option. */
  kind = 0;
  /** Offset of the current option's data (after kind and length). */
  dataOff = 0;
  /** Length of the current option's data. */
  dataLen = 0;
  /** Ok, or BadOption once a malformed option has stopped the walk. */
  status: WireStatus = WireStatus.Ok;

  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = off + len;
    this.kind = 0;
    this.dataOff = 0;
    this.dataLen = 0;
    this.status = WireStatus.Ok;
    return this;
  }

  /** Advances to the next option other than NOP. Returns false at the end or on a bad option. */
  next(): boolean {
    const b = this.buf;
    while (this.pos < this.end) {
      const kind = b[this.pos]!;
      if (kind === OPT_END) {
        this.pos = this.end;
        return false;
      }
      if (kind === OPT_NOP) {
        this.pos++;
        continue;
      }
      if (this.pos + 2 > this.end) return this.fail();
      const n = b[this.pos + 1]!;
      if (n < 2 || this.pos + n > this.end) return this.fail();
      this.kind = kind;
      this.dataOff = this.pos + 2;
      this.dataLen = n - 2;
      this.pos += n;
      return true;
    }
    return false;
  }

  private fail(): false {
    this.status = WireStatus.BadOption;
    this.pos = this.end;
    return false;
  }
}
