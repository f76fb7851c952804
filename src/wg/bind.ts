/**
 * The outer side of a WireGuard device: where its UDP datagrams go and come from. An interface,
 * so that tests run two devices over an in-memory link (`MemoryLink`) and production plugs in a
 * UDP socket (src/udp's batched `UdpSocket`, or node:dgram).
 *
 * Peers are 8-word address records, the layout of src/udp/address.ts (family, port, 4 address
 * words, scope, unused), so a batched socket's receive records pass through untouched and no
 * object is made per datagram:
 *
 *   word  0: family (4 | 6 | 0 = none)   1: port   2..5: address (IPv4 in word 2, as int32)
 */

import { PktTypeError } from '../errors.js';
import { IpAddr } from '../wire/addr.js';

export const ENDPOINT_WORDS = 8;

/** Receives a datagram (borrowed: valid until the call returns) and its sender's record at from[fromOff]. */
export type WgBindReceiver = (datagram: Uint8Array, from: Int32Array, fromOff: number) => void;

export interface WgBind {
  /** Installs the receiver of incoming datagrams; replaces any previous one. */
  setReceiver(receiver: WgBindReceiver): void;
  /**
   * Sends `datagram` (borrowed: exactly the bytes to send, valid until this returns) to the
   * record at to[toOff]. Copies before returning; never throws for I/O (counts or drops).
   */
  send(datagram: Uint8Array, to: Int32Array, toOff: number): void;
  /** Releases the bind. Idempotent. */
  close(): void;
}

/**
 * Parses `host:port` / `[v6]:port` into a record (configuration path).
 * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS on anything else.
 */
export function parseEndpoint(s: string, out: Int32Array = new Int32Array(ENDPOINT_WORDS), off = 0): Int32Array {
  const m = typeof s === 'string' ? /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s) : null;
  const port = m === null ? -1 : Number(m[3]);
  if (m === null || port > 65535) throw new PktTypeError(`wg: expected an endpoint like 192.0.2.1:51820 or [2001:db8::1]:51820, got ${JSON.stringify(s)}`, 'ERR_PKT_INVALID_ADDRESS');
  const a = IpAddr.parse((m[1] ?? m[2])!);
  out.fill(0, off, off + ENDPOINT_WORDS);
  out[off] = a.family;
  out[off + 1] = port;
  for (let k = 0; k < a.bytes.length / 4; k++) {
    const b = a.bytes;
    out[off + 2 + k] = (b[4 * k]! << 24) | (b[4 * k + 1]! << 16) | (b[4 * k + 2]! << 8) | b[4 * k + 3]!;
  }
  return out;
}

/** `ip:port` or `[v6]:port` of a record, `(none)` for family 0 (display). */
export function formatEndpoint(w: Int32Array, off = 0): string {
  const family = w[off];
  const port = w[off + 1]!;
  if (family === 4) {
    const v = w[off + 2]! >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}:${port}`;
  }
  if (family === 6) {
    const b = new Uint8Array(16);
    for (let k = 0; k < 4; k++) {
      const v = w[off + 2 + k]!;
      b[4 * k] = v >>> 24;
      b[4 * k + 1] = v >>> 16;
      b[4 * k + 2] = v >>> 8;
      b[4 * k + 3] = v;
    }
    return `[${IpAddr.fromBytes(b).toString()}]:${port}`;
  }
  return '(none)';
}

/** True when the records at a[aOff] and b[bOff] name the same endpoint (words 0..6). */
export function sameEndpoint(a: Int32Array, aOff: number, b: Int32Array, bOff: number): boolean {
  for (let k = 0; k < 7; k++) if (a[aOff + k] !== b[bOff + k]) return false;
  return true;
}

/**
 * The address bytes a cookie is made of (IP then port, big-endian; notes §3.1: local to the
 * responder) written to out[0..]; returns the length (6 or 18), 0 for family 0.
 */
export function endpointBytes(w: Int32Array, off: number, out: Uint8Array): number {
  const family = w[off];
  const words = family === 4 ? 1 : family === 6 ? 4 : 0;
  for (let k = 0; k < words; k++) {
    const v = w[off + 2 + k]!;
    out[4 * k] = v >>> 24;
    out[4 * k + 1] = v >>> 16;
    out[4 * k + 2] = v >>> 8;
    out[4 * k + 3] = v;
  }
  if (words === 0) return 0;
  const port = w[off + 1]!;
  out[4 * words] = port >>> 8;
  out[4 * words + 1] = port;
  return 4 * words + 2;
}

/** One end of a `MemoryLink`. */
export class MemoryBind implements WgBind {
  readonly address: Int32Array;
  receiver: WgBindReceiver | null = null;
  closed = false;
  readonly #link: MemoryLink;

  constructor(link: MemoryLink, address: string) {
    this.#link = link;
    this.address = parseEndpoint(address);
  }

  setReceiver(receiver: WgBindReceiver): void {
    this.receiver = receiver;
  }

  send(datagram: Uint8Array, to: Int32Array, toOff: number): void {
    if (this.closed) return;
    this.#link.enqueue(this, datagram.slice(), to.slice(toOff, toOff + ENDPOINT_WORDS));
  }

  close(): void {
    this.closed = true;
  }
}

/** A datagram in flight on a MemoryLink (tests may inspect and rewrite it). */
export interface MemoryDatagram {
  /** When it was sent, by the link's `now` (0 without one). */
  at: number;
  from: Int32Array;
  to: Int32Array;
  data: Uint8Array;
}

/**
 * An in-memory UDP network for tests: any number of binds, each with an address; datagrams are
 * queued and delivered by `pump()` (never re-entrantly from `send`), so a test decides when
 * messages cross, can drop, tamper with, spoof or replay them (`filter`), and counts them.
 */
export class MemoryLink {
  readonly binds: MemoryBind[] = [];
  readonly queue: MemoryDatagram[] = [];
  /** Return false to drop a datagram (it may also be rewritten in place). */
  filter: ((d: MemoryDatagram) => boolean) | null = null;
  /** Every datagram sent, in order (for assertions). */
  readonly log: MemoryDatagram[] = [];
  readonly #now: () => number;

  /** `now` stamps datagrams with their send time (a test's ManualClock). */
  constructor(now: () => number = () => 0) {
    this.#now = now;
  }

  bind(address: string): MemoryBind {
    const b = new MemoryBind(this, address);
    this.binds.push(b);
    return b;
  }

  enqueue(from: MemoryBind, data: Uint8Array, to: Int32Array): void {
    const d = { at: this.#now(), from: from.address.slice(), to, data };
    this.queue.push(d);
    this.log.push(d);
  }

  /** Injects a datagram as if sent from `from` (spoofing is a test's business). */
  inject(from: string, to: string, data: Uint8Array): void {
    const d = { at: this.#now(), from: parseEndpoint(from), to: parseEndpoint(to), data: Uint8Array.from(data) };
    this.queue.push(d);
  }

  /** Delivers queued datagrams (and what their delivery makes) until none are left; returns how many. */
  pump(max = 100_000): number {
    let n = 0;
    while (this.queue.length > 0 && n < max) {
      const d = this.queue.shift()!;
      n++;
      if (this.filter !== null && !this.filter(d)) continue;
      const dst = this.binds.find((b) => !b.closed && sameEndpoint(b.address, 0, d.to, 0));
      dst?.receiver?.(d.data, d.from, 0);
    }
    return n;
  }
}
