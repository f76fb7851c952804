/**
 * `pktkit/icmp`: unprivileged ICMP echo ("ping") sockets over the native addon's `icmp` feature
 * (native/src/icmp.rs): send Echo Requests to any address and receive the replies in batches,
 * without raw sockets or CAP_NET_RAW.
 *
 * What the kernel does for such a socket: it writes the socket's own identifier (`localId`,
 * picked when the socket is opened) into every request and hands the socket only the Echo
 * Replies that carry it; it computes the ICMPv4 and ICMPv6 checksums; it accepts nothing but
 * Echo Requests. So a caller chooses the sequence number and the data, not the identifier:
 * whoever multiplexes several askers over one socket (slirp does) maps them by sequence number.
 *
 * Who may open one: a process with a group inside `net.ipv4.ping_group_range` of its network
 * namespace (the same sysctl governs IPv6). The kernel default, "1 0", admits nobody, root
 * included; systemd and many distributions set "0 2147483647". Refused, `open` throws a PktError
 * with code ERR_PKT_PERMISSION that names the sysctl.
 *
 * Where replies land (registered with the native side once, no object per reply):
 *
 *   rx.data  Uint8Array    | entry 0 (rxSlotSize bytes) | entry 1 | ... |
 *   rx.offs  Int32Array(n) where entry i starts
 *   rx.lens  Int32Array(n) the ICMP message's length (header and data; -1: too large, lost)
 *   rx.addrs Int32Array(8n) its source: the 8-word record of pktkit/udp with word 1 (port) 0
 *            and word 7 the reply's TTL or hop limit (`IcmpWord`)
 *
 * Requests are copied into a send buffer and leave at once, one sendto(2) each: echo is not
 * bulk traffic. Waiting is the addon's (`wait` on a worker, `waitAsync` or `start` on the main
 * thread, or `IcmpWaiter` for several sockets at once on one libuv pool thread).
 */

import { readFileSync } from 'node:fs';
import { ClosedError, PktError, PktTypeError, intInRange } from '../errors.js';
import { requireNative } from './index.js';
import { PolledSocket } from './polled-socket.js';
import type * as NetBinding from './binding.js';

type Binding = typeof NetBinding;
type NativeIcmp = NetBinding.IcmpSocket;

/** Words of a reply's source record (8 words per entry in `rx.addrs`). */
export const IcmpWord = {
  /** 4 or 6. */
  Family: 0,
  /** IPv4: the address as a u32 (int32 words: `>>> 0`); IPv6: 4 big-endian words from here. */
  Addr: 2,
  /** IPv6 scope id. */
  Scope: 6,
  /** The reply's TTL or hop limit (-1: the kernel gave none). */
  Ttl: 7,
} as const;
/** Words per source record. */
export const ICMP_ADDR_WORDS = 8;
/** RFC 792, RFC 4443 §4.1: type, code, checksum, identifier, sequence number. */
export const ECHO_HEADER_LEN = 8;
/** RFC 792 and RFC 4443 §4.1: the Echo Request types. */
const ECHO_REQUEST_V4 = 8;
const ECHO_REQUEST_V6 = 128;
const SEQ_OFF = 6;

// errno values (Linux, all architectures pktkit builds for).
const EACCES = 13;
const ENOENT = 2;
const EPERM = 1;
const EAFNOSUPPORT = 97;

/** Receives one reply: the ICMP message at `buf[off, off+len)` (borrowed: valid until the handler returns) and its source record at `rec[recOff, recOff+8)`. */
export type IcmpReplyHandler = (buf: Uint8Array, off: number, len: number, rec: Int32Array, recOff: number) => void;

export interface IcmpEchoSocketOptions {
  /** Reply entries per receive call (default 16). */
  rxEntries?: number;
  /** Bytes per reply entry: the largest ICMP message received (default 2048). */
  rxSlotSize?: number;
  /** The largest request, header included (default: rxSlotSize, since a larger reply would be lost). */
  maxRequest?: number;
  /** Open the socket in this network namespace: a name under /run/netns or a path to a namespace file. */
  netns?: string;
}

/** Counters: the native ones plus requests refused here. */
export interface IcmpEchoSocketStats extends NetBinding.IcmpStats {
  /** `send` calls refused before the kernel: closed, or larger than `maxRequest`. */
  txDropClosed: number;
  txDropTooBig: number;
}

function errnoName(e: number): string {
  return e === EACCES ? 'EACCES' : e === EPERM ? 'EPERM' : e === ENOENT ? 'ENOENT' : e === EAFNOSUPPORT ? 'EAFNOSUPPORT' : `errno ${e}`;
}

/** The error for a refused open (cold path: reads the sysctl to say what it is). */
function openError(family: 4 | 6, e: number, netns: string | undefined): PktError {
  const where = netns === undefined ? '' : ` in the network namespace ${netns}`;
  if (e === EACCES) {
    let range = 'unknown';
    try {
      range = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().replace(/\s+/g, ' ');
    } catch {
      // not readable: say so as 'unknown'
    }
    const groups = typeof process.getgroups === 'function' ? process.getgroups().join(', ') : 'unknown';
    return new PktError(
      'ERR_PKT_PERMISSION',
      `IcmpEchoSocket: the kernel refused an IPv${family} ICMP echo socket${where} (EACCES): this process's groups (${groups}) are outside net.ipv4.ping_group_range ` +
        `(${netns === undefined ? `"${range}" here` : 'of that namespace'}). Allow them with \`sysctl -w net.ipv4.ping_group_range="0 2147483647"\` ` +
        '(per network namespace; it also governs IPv6). The kernel default "1 0" admits nobody, root included.',
    );
  }
  if (e === EAFNOSUPPORT) return new PktError('ERR_PKT_IO', `IcmpEchoSocket: IPv${family} echo sockets are not supported by this kernel${where} (EAFNOSUPPORT)`);
  return new PktError('ERR_PKT_IO', `IcmpEchoSocket: cannot open an IPv${family} echo socket${where} (${errnoName(e)})`);
}

/**
 * An ICMP echo socket of one family. Owned by the thread that opened it; not for concurrent use.
 * Waiting (`wait`, `waitAsync`), the `start` loop and `close` are PolledSocket's. A socket in an
 * `IcmpWaiter`'s wait must be closed only once that wait has returned (`IcmpWaiter` says how).
 */
export class IcmpEchoSocket extends PolledSocket<IcmpReplyHandler> {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The identifier the kernel writes into this socket's requests (and filters replies by). */
  readonly localId: number;
  /** The receive area: after `recvEntries()` returns n, entries 0..n-1 hold what arrived. */
  readonly rx: { readonly data: Uint8Array; readonly offs: Int32Array; readonly lens: Int32Array; readonly addrs: Int32Array };
  /** Capacity of each receive entry, and the largest request `send` takes. */
  readonly rxSlotSize: number;
  readonly maxRequest: number;
  private readonly n: NativeIcmp;
  private readonly rxN: number;
  private readonly tx: Uint8Array;
  private readonly to: Int32Array;
  private readonly drops = new Float64Array(2);

  private constructor(b: Binding, n: NativeIcmp, family: 4 | 6, localId: number, rxEntries: number, rxSlot: number, maxRequest: number) {
    super(b, 'IcmpEchoSocket', n.fd);
    this.n = n;
    this.family = family;
    this.localId = localId;
    this.rxSlotSize = rxSlot;
    this.maxRequest = maxRequest;
    this.rxN = rxEntries;
    const offs = new Int32Array(rxEntries);
    for (let i = 0; i < rxEntries; i++) offs[i] = i * rxSlot;
    this.rx = { data: new Uint8Array(rxEntries * rxSlot), offs, lens: new Int32Array(rxEntries), addrs: new Int32Array(rxEntries * ICMP_ADDR_WORDS) };
    this.tx = new Uint8Array(maxRequest);
    this.to = new Int32Array(ICMP_ADDR_WORDS);
    this.to[IcmpWord.Family] = family;
    this.tx[0] = family === 4 ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6;
    n.setRxBuffers(this.rx.data, this.rx.offs, this.rx.lens, this.rx.addrs);
    n.setTxBuffer(this.tx, this.to);
  }

  /**
   * Opens an echo socket of `family`.
   * @throws {PktTypeError} for a family other than 4 and 6 or malformed options; {PktRangeError}
   *   for sizes out of range; {PktError} ERR_PKT_PERMISSION when net.ipv4.ping_group_range
   *   excludes this process, ERR_PKT_IO when the kernel refuses otherwise,
   *   ERR_PKT_NATIVE_UNAVAILABLE without the addon's `icmp` feature.
   */
  static open(family: 4 | 6, opts: IcmpEchoSocketOptions = {}): IcmpEchoSocket {
    if (family !== 4 && family !== 6) throw new PktTypeError(`IcmpEchoSocket.open: family must be 4 or 6, got ${String(family)}`);
    if (opts === null || typeof opts !== 'object') throw new PktTypeError('IcmpEchoSocket.open: expected an options object');
    const rxEntries = intInRange('IcmpEchoSocket.open: rxEntries', opts.rxEntries ?? 16, 1, 1024);
    const rxSlot = intInRange('IcmpEchoSocket.open: rxSlotSize', opts.rxSlotSize ?? 2048, ECHO_HEADER_LEN, 65535);
    const maxRequest = intInRange('IcmpEchoSocket.open: maxRequest', opts.maxRequest ?? rxSlot, ECHO_HEADER_LEN, 65535);
    let netns: string | undefined;
    if (opts.netns !== undefined) {
      if (typeof opts.netns !== 'string' || opts.netns === '' || opts.netns.includes('\0')) throw new PktTypeError('IcmpEchoSocket.open: netns must be a namespace name or path');
      netns = opts.netns.includes('/') ? opts.netns : `/run/netns/${opts.netns}`;
    }
    const b = requireNative('ICMP echo sockets', 'icmp') as unknown as Binding;
    const fd = b.icmpSocketOpen(family, netns);
    if (fd < 0) throw openError(family, -fd, netns);
    let n: NativeIcmp;
    try {
      n = b.IcmpSocket.adopt(fd, family);
    } catch (err) {
      b.fdClose(fd);
      throw new PktError('ERR_PKT_IO', `IcmpEchoSocket: cannot adopt descriptor ${fd}`, { cause: err });
    }
    const id = n.localId();
    if (id < 0) {
      n.close();
      throw new PktError('ERR_PKT_IO', `IcmpEchoSocket: getsockname failed (${errnoName(-id)})`);
    }
    return new IcmpEchoSocket(b, n, family, id, rxEntries, rxSlot, maxRequest);
  }

  /**
   * Sends an Echo Request with sequence number `seq` and the data `data[off, off+len)` to the
   * address at `dst[dstOff]` (4 bytes for an IPv4 socket, 16 for IPv6; `scope` for link-local
   * IPv6). The identifier is the kernel's (`localId`). Returns 0 when it left, else the errno
   * the kernel gave (EAGAIN: the send buffer is full; ENETUNREACH...) or -1 when refused here
   * (closed, longer than `maxRequest`), all counted. Never throws for what the network does.
   */
  send(dst: Uint8Array, dstOff: number, seq: number, data: Uint8Array, off: number, len: number, scope = 0): number {
    if (this.isClosed) {
      this.drops[0]!++;
      return -1;
    }
    if (len + ECHO_HEADER_LEN > this.maxRequest) {
      this.drops[1]!++;
      return -1;
    }
    const tx = this.tx;
    tx[SEQ_OFF] = (seq >>> 8) & 0xff;
    tx[SEQ_OFF + 1] = seq & 0xff;
    // Node 20 copies part of one array into another only through a view; an echo is rare
    // enough that the view is cheaper than a byte loop for typical 56-byte-and-up payloads.
    if (len > 0) tx.set(data.subarray(off, off + len), ECHO_HEADER_LEN);
    const to = this.to;
    if (this.family === 4) {
      to[IcmpWord.Addr] = (dst[dstOff]! << 24) | (dst[dstOff + 1]! << 16) | (dst[dstOff + 2]! << 8) | dst[dstOff + 3]!;
    } else {
      for (let k = 0; k < 4; k++) {
        const o = dstOff + 4 * k;
        to[IcmpWord.Addr + k] = (dst[o]! << 24) | (dst[o + 1]! << 16) | (dst[o + 2]! << 8) | dst[o + 3]!;
      }
      to[IcmpWord.Scope] = scope;
    }
    const r = this.n.send(0, ECHO_HEADER_LEN + len);
    return r >= 0 ? 0 : -r;
  }

  /**
   * Receives one batch (one recvmmsg) and hands every reply to `handler`. Returns how many it
   * handed over (0: nothing was waiting). A handler that throws is the caller's bug: the
   * exception propagates and the rest of the batch is dropped.
   */
  override recv(handler: IcmpReplyHandler): number {
    const n = this.recvEntries();
    const { data, offs, lens, addrs } = this.rx;
    let count = 0;
    for (let e = 0; e < n; e++) {
      const len = lens[e]!;
      if (len < 0) continue; // too large for its entry: lost, counted natively
      handler(data, offs[e]!, len, addrs, e * ICMP_ADDR_WORDS);
      count++;
    }
    return count;
  }

  /**
   * Low level: one recvmmsg into rx entries 0..maxEntries-1; returns how many were filled.
   * Entry i: `rx.lens[i]` bytes at `rx.offs[i]` (-1: lost), its source at `rx.addrs[8i]`.
   * @throws {ClosedError} after close.
   */
  recvEntries(maxEntries = this.rxN): number {
    if (this.isClosed) throw new ClosedError('IcmpEchoSocket');
    return this.n.recv(0, maxEntries < this.rxN ? maxEntries : this.rxN, this.rxSlotSize);
  }

  /** Counters (native and JavaScript side). */
  stats(): IcmpEchoSocketStats {
    const s = this.n.stats() as IcmpEchoSocketStats;
    s.txDropClosed = this.drops[0]!;
    s.txDropTooBig = this.drops[1]!;
    return s;
  }

  protected override closeNative(): void {
    this.n.close();
  }
}

/**
 * Waits for any of several sockets on one libuv pool thread (`waitFdsAsync`), with an eventfd
 * to cut a wait short when the set of sockets changes. A descriptor must not be closed while a
 * wait that polls it is in progress (its number could be reused under the poll): `kick()`, let
 * the wait return, then close.
 */
export class IcmpWaiter {
  private readonly b: Binding;
  private kickFd: number;

  /** @throws {PktError} ERR_PKT_NATIVE_UNAVAILABLE without the addon. */
  constructor() {
    this.b = requireNative('ICMP echo sockets', 'icmp') as unknown as Binding;
    this.kickFd = this.b.eventfdCreate();
  }

  /** Resolves with each descriptor's poll revents (0: not ready) once one is ready, a kick came, or `timeoutMs` passed. */
  wait(fds: number[], timeoutMs: number): Promise<number[]> {
    if (this.kickFd < 0) throw new ClosedError('IcmpWaiter');
    return this.b.waitFdsAsync(fds, this.kickFd, timeoutMs) as Promise<number[]>;
  }

  /** Ends the wait in progress (or the next one at once). */
  kick(): void {
    if (this.kickFd >= 0) this.b.eventfdKick(this.kickFd);
  }

  /** Closes the eventfd; call once no wait is in progress. Idempotent. */
  close(): void {
    if (this.kickFd < 0) return;
    this.b.fdClose(this.kickFd);
    this.kickFd = -1;
  }
}
