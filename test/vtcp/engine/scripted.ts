/**
 * A scripted peer for focused Tcb tests: the Tcb's segments are recorded (decoded copies), and
 * the test writes the peer's segments by hand. Time is a ManualClock.
 */

import { ManualClock } from '../../../src/core/clock.js';
import { TcpState, type TcbOptions } from '../../../src/vtcp/contract.js';
import { Tcb } from '../../../src/vtcp/tcb.js';
import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN, type TcpFields } from '../../../src/wire/tcp.js';
import { RecordingSink, seg } from '../../helpers/tcp-sim.js';

export { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN, TcpState };

export const ISS = 1000;
export const PEER_ISS = 500_000;
export const LOCAL_PORT = 40000;
export const PEER_PORT = 80;

export interface PeerOptions {
  mss?: number;
  /** Window scale shift the peer offers (-1: none). */
  ws?: number;
  sack?: boolean;
  ts?: boolean;
  /** The peer's window in bytes (scaled by its shift after the SYN). */
  window?: number;
}

export class Harness {
  readonly clock = new ManualClock(1000);
  readonly sink = new RecordingSink(this.clock);
  readonly tcb: Tcb;
  readonly events: string[] = [];
  closeReason: string | null | undefined = undefined;
  readonly peer: Required<PeerOptions>;
  /** The next sequence number the peer sends. */
  peerSeq = PEER_ISS + 1;
  peerTs = 7777;

  constructor(opts: Partial<TcbOptions> = {}, peer: PeerOptions = {}) {
    this.peer = { mss: peer.mss ?? 1460, ws: peer.ws ?? 7, sack: peer.sack ?? true, ts: peer.ts ?? true, window: peer.window ?? 1 << 20 };
    this.tcb = new Tcb(this.sink, { clock: this.clock, random: () => 0.5, ...opts }, {
      onEstablished: () => this.events.push('established'),
      onReadable: () => this.events.push('readable'),
      onEnd: () => this.events.push('end'),
      onDrain: () => this.events.push('drain'),
      onClose: (r) => {
        this.events.push(`close:${r}`);
        this.closeReason = r;
      },
    });
  }

  /** The peer's window field for its scale. */
  wfield(bytes = this.peer.window): number {
    const shift = this.tcb.wsOn ? this.peer.ws : 0;
    return Math.min(0xffff, Math.floor(bytes / 2 ** shift));
  }

  /** SYN options as this peer offers them. */
  private synOptions(): Partial<TcpFields> {
    const p = this.peer;
    return { mss: p.mss, windowScale: p.ws, sackPermitted: p.sack, hasTimestamps: p.ts, tsVal: this.peerTs, tsEcr: 0 };
  }

  /** Active open to completion: SYN out, SYN-ACK in, ACK out. */
  openActive(): this {
    this.tcb.connect(LOCAL_PORT, PEER_PORT, ISS);
    const syn = this.sink.last!.f;
    this.input({ ...this.synOptions(), flags: TCP_FLAG_SYN | TCP_FLAG_ACK, seq: PEER_ISS, ack: ISS + 1, window: Math.min(0xffff, this.peer.window), tsEcr: syn.tsVal });
    return this;
  }

  /** Passive open to completion: SYN in, SYN-ACK out, ACK in. */
  openPassive(): this {
    const syn = seg({ ...this.synOptions(), srcPort: PEER_PORT, dstPort: LOCAL_PORT, flags: TCP_FLAG_SYN, seq: PEER_ISS, window: Math.min(0xffff, this.peer.window) });
    this.tcb.acceptSyn(syn, new Uint8Array(0), 0, 0, ISS);
    this.send({ ack: ISS + 1 });
    return this;
  }

  /** Feeds a segment from the peer (defaults: ports, ACK flag, window, timestamps if negotiated). */
  input(p: Partial<TcpFields> & { sack?: number[] }, data: Uint8Array = new Uint8Array(0)): void {
    const f = seg({ srcPort: PEER_PORT, dstPort: LOCAL_PORT, ...p });
    this.tcb.input(f, data, 0, data.length);
  }

  /**
   * A segment at the peer's next sequence number, acknowledging `ack` (default: all we sent),
   * carrying `data`; advances peerSeq.
   */
  send(p: Partial<TcpFields> & { sack?: number[]; data?: Uint8Array } = {}): void {
    const data = p.data ?? new Uint8Array(0);
    const flags = p.flags ?? TCP_FLAG_ACK;
    const ts = this.tcb.tsOn ? { hasTimestamps: true, tsVal: ++this.peerTs, tsEcr: this.lastTsVal() } : {};
    const f = { seq: this.peerSeq, ack: this.tcb.sndMax, flags, window: this.wfield(), ...ts, ...p };
    delete (f as { data?: unknown }).data;
    this.input(f, data);
    if (p.seq === undefined) this.peerSeq = (this.peerSeq + data.length + ((flags & TCP_FLAG_FIN) !== 0 ? 1 : 0)) >>> 0;
  }

  lastTsVal(): number {
    for (let i = this.sink.segs.length - 1; i >= 0; i--) if (this.sink.segs[i]!.f.hasTimestamps) return this.sink.segs[i]!.f.tsVal;
    return 0;
  }

  /** Segments the Tcb sent since the last `take`. */
  take(): { f: TcpFields; data: Uint8Array; at: number }[] {
    const s = this.sink.segs.slice();
    this.sink.clear();
    return s;
  }

  /** Queues `n` bytes (value i & 0xff) on the Tcb. */
  write(n: number): number {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = i & 0xff;
    return this.tcb.write(b, 0, n);
  }
}

export function bytes(n: number, fill = 0x61): Uint8Array {
  return new Uint8Array(n).fill(fill);
}
