/**
 * The fields of a Tcb (RFC 9293 §3.3.1's send and receive sequence variables and everything the
 * options add) and the pieces every layer of it uses: segment emission, the advertised window,
 * the one timer, deferred events, challenge ACKs (RFC 5961 §7) and the transitions to CLOSED and
 * TIME-WAIT.
 *
 * The Tcb is built as a chain of classes, one concern per file, so each stays readable:
 *
 *   TcbBase   (tcb-base.ts)    fields, emit, window, timer plumbing, events
 *   TcbOutput (tcb-output.ts)  the send path: new data, Nagle/SWS, FIN, retransmission, timers
 *   TcbInput  (tcb-input.ts)   RFC 9293 §3.10.7 segment arrival
 *   Tcb       (tcb.ts)         the user calls: connect, acceptSyn, write, read, shutdown, ...
 *
 * Every field is assigned in TcbBase's constructor, in a fixed order, with its final
 * representation (uint32 sequence numbers start as uint32 values, times as doubles), so that
 * all Tcbs share one hidden class and no field changes representation on the hot path.
 *
 * Timer: one clock timer per Tcb, armed lazily. Each concern keeps a deadline (ms, -1 = none):
 * RTO, delayed ACK, persist, keepalive, TIME-WAIT. The clock timer is re-armed only when a
 * deadline comes earlier than the armed one; when it fires, due deadlines run and it is armed
 * for the next. Restarting the RTO on every ACK (RFC 6298 §5.3) moves a deadline later and costs
 * no clock call, so bulk transfer arms a timer about once per RTO, not once per segment.
 *
 * Events are never called from the middle of segment processing: they are recorded as bits and
 * delivered once the Tcb is consistent (`flushEvents`), so an owner may call back into the Tcb
 * (read, write, abort) from any event.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import { TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN, newTcpFields, type TcpFields } from '../wire/tcp.js';
import { createCongestionControl } from './cc/index.js';
import { TcpState, type CongestionControl, type SegmentSink, type TcbOptions, type TcbStats } from './contract.js';
import { RecvBuffer } from './recv-buffer.js';
import { RtoEstimator } from './rto.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { seqAdd32, seqDiff } from './seq.js';

import {
  CHALLENGE_ACK_LIMIT,
  CHALLENGE_ACK_WINDOW_MS,
  EV_CLOSE,
  EV_DRAIN,
  EV_END,
  EV_ESTABLISHED,
  EV_FREED,
  EV_READABLE,
  TCB_DEFAULT_BUFFER,
  TCB_DEFAULT_DELAYED_ACK_MS,
  TCB_DEFAULT_MAX_RETRIES,
  TCB_DEFAULT_MSS,
  TCB_DEFAULT_TIME_WAIT_MS,
  TCP_DEFAULT_PEER_MSS,
  TCP_MAX_UNSCALED_WINDOW,
  TCP_SACK_BASE_SPACE,
  TCP_SACK_BLOCK_SPACE,
  TcbDrop,
  newStats,
  windowShiftFor,
  type TcbHooks,
} from './tcb-support.js';

export * from './tcb-support.js';

/*
 * INT32: sequence numbers handed to the building blocks on the per-segment path (send buffer
 * peek/ack, receive buffer insert, scoreboard advance) are passed as `seq | 0`, the int32 with the
 * same value modulo 2^32. Each of those functions reduces its argument with `>>> 0` or compares
 * modulo 2^32, so the meaning is unchanged; the point is V8: a uint32 at or above 2^31 passed to
 * a function that is not inlined is boxed in a new HeapNumber, an int32 is a Smi on 64-bit Node
 * builds (no pointer compression). With sequence numbers below 2^31 steady-state transfer is
 * allocation-free (test/vtcp/engine/alloc.test.ts); above 2^31 about two HeapNumbers per segment
 * remain, not yet located (see the vtcp engine report).
 */
export abstract class TcbBase {
  // Every field is `declare`d and assigned in the constructor. A plain declaration would compile
  // (useDefineForClassFields) to a class field defined as `undefined` before the constructor
  // runs, and V8 would then give the field the Tagged representation: each double or uint32 at
  // or above 2^31 stored later would allocate a HeapNumber instead of updating a Double field in
  // place (measured: one HeapNumber per segment and field).
  // --- wiring
  declare readonly clock: Clock;
  readonly random: () => number;
  declare sink: SegmentSink;
  /** The owner's callbacks; replaceable (a Listener hands its Tcbs over to a Conn). */
  declare events: TcbHooks;

  // --- configuration
  /** Our MSS, announced in the SYN. */
  declare readonly ourMss: number;
  declare readonly sackOffered: boolean;
  declare readonly tsOffered: boolean;
  declare readonly wsOffered: boolean;
  declare noDelay: boolean;
  declare readonly delayedAckMs: number;
  declare readonly timeWaitMs: number;
  declare keepalive: boolean;
  declare keepIdleMs: number;
  declare keepIntervalMs: number;
  declare keepProbes: number;
  declare readonly maxRetries: number;
  declare readonly ccName: string;

  // --- identity and state
  declare localPort: number;
  declare remotePort: number;
  declare state: TcpState;
  /** Opened by a listener (passive): an RST in SYN-RECEIVED just drops it (RFC 9293 §3.10.7.4). */
  declare passive: boolean;

  // --- send sequence space (RFC 9293 §3.3.1). Invariant: una <= nxt <= max.
  declare iss: number;
  declare sndUna: number;
  /** Next sequence number to send; below sndMax while going back after an RTO. */
  declare sndNxt: number;
  /** Highest sequence number sent + 1 (BSD's snd_max). */
  declare sndMax: number;
  /** Peer's window in bytes (scaled). */
  declare sndWnd: number;
  sndWl1: number;
  sndWl2: number;
  /** Largest window the peer offered (RFC 5961 §5.2's MAX.SND.WND, and sender SWS avoidance). */
  declare maxSndWnd: number;
  /** Shift applied to the peer's window fields. */
  declare sndShift: number;
  /** Payload bytes per full segment: min(peer MSS, ours) less the timestamps option. */
  declare segMss: number;
  /** shutdown() was called: a FIN follows the queued data, at finSeq. */
  declare finQueued: boolean;
  declare finSeq: number;
  /** Our FIN was acknowledged. */
  declare finAcked: boolean;

  // --- receive sequence space
  declare irs: number;
  declare rcvNxt: number;
  /** Right edge of the window we last advertised (never moved left, RFC 9293 §3.8.6.2.2). */
  declare rcvAdv: number;
  /** Shift applied to the window fields we send. */
  declare rcvShift: number;
  /** The peer's FIN arrived ahead of missing data: it sits at peerFinSeq. */
  declare peerFinPending: boolean;
  declare peerFinSeq: number;
  /** The peer's FIN was received in order. */
  declare peerFinReceived: boolean;
  /** Largest payload seen from the peer (its MSS, for the delayed-ACK rule). */
  declare rcvMss: number;

  // --- negotiated options
  declare sackOn: boolean;
  declare tsOn: boolean;
  declare wsOn: boolean;
  /** RFC 7323 §4.3 TS.Recent and Last.ACK.sent. */
  declare tsRecent: number;
  declare lastAckSent: number;
  /** Added to the clock's ms to make our TSval (random per connection, RFC 7323 §7.1). */
  declare tsOffset: number;

  // --- RTO (RFC 6298) and Karn's rule
  declare readonly rto: RtoEstimator;
  declare rttTiming: boolean;
  declare rttSeq: number;
  declare rttStartMs: number;
  /** Consecutive RTOs without progress. */
  declare retries: number;

  // --- congestion control and loss recovery
  declare readonly cc: CongestionControl;
  declare inRecovery: boolean;
  /** RFC 6582 `recover`: the highest sequence sent when recovery began (+1). */
  declare recover: number;
  declare dupAcks: number;
  /** NewReno window inflation during recovery (RFC 6582 §3.2), signed bytes over cc.cwnd. */
  declare cwndInflate: number;
  /** RFC 6675 HighRxt (exclusive) and pipe. */
  declare highRxt: number;
  declare pipe: number;
  declare readonly scoreboard: SackScoreboard;

  // --- buffers
  declare readonly sendBuf: SendBuffer;
  declare readonly recvBuf: RecvBuffer;
  /** Set when write() took less than offered: onDrain when space frees. */
  declare drainWanted: boolean;
  /** close() was called: data arriving now is answered with RST. */
  declare userClosed: boolean;

  // --- timers: deadlines in clock ms, -1 when off
  declare timer: TimerHandle | null;
  declare timerAt: number;
  declare rtoAt: number;
  declare delackAt: number;
  declare persistAt: number;
  declare keepAt: number;
  declare twAt: number;
  declare persistBackoff: number;
  declare keepSent: number;
  /** SEG.SEQ of the segment being processed (a field, not an argument: see xmit). */
  declare segSeq: number;
  /** Payload bytes received in order since our last ACK (delayed ACK rule). */
  declare unackedBytes: number;
  /** An ACK must go out before the current call returns. */
  declare ackNow: boolean;

  // --- RFC 5961 §7 challenge ACK rate limit
  declare chalStartMs: number;
  declare chalCount: number;
  /** The same limit for ACKs answering unacceptable bare ACKs. */
  declare oowStartMs: number;
  declare oowCount: number;

  // --- events and errors
  declare pending: number;
  declare closeReason: string | null;
  declare flushing: boolean;

  // --- scratch, reused for every segment
  declare readonly out: TcpFields;
  declare readonly scratch: Uint8Array;
  declare readonly statsData: TcbStats;
  readonly timerFn: () => void;

  constructor(sink: SegmentSink, opts: TcbOptions, events: TcbHooks) {
    this.clock = opts.clock;
    this.random = opts.random ?? Math.random;
    this.sink = sink;
    this.events = events;

    this.ourMss = opts.mss ?? TCB_DEFAULT_MSS;
    this.sackOffered = opts.sack ?? true;
    this.tsOffered = opts.timestamps ?? true;
    this.wsOffered = opts.windowScaling ?? true;
    this.noDelay = opts.noDelay ?? false;
    this.delayedAckMs = opts.delayedAckMs ?? TCB_DEFAULT_DELAYED_ACK_MS;
    this.timeWaitMs = opts.timeWaitMs ?? TCB_DEFAULT_TIME_WAIT_MS;
    const ka = opts.keepalive ?? null;
    this.keepalive = ka !== null;
    this.keepIdleMs = ka?.idleMs ?? 7_200_000;
    this.keepIntervalMs = ka?.intervalMs ?? 75_000;
    this.keepProbes = ka?.probes ?? 9;
    this.maxRetries = opts.maxRetries ?? TCB_DEFAULT_MAX_RETRIES;
    this.ccName = opts.congestionControl ?? 'newreno';

    this.localPort = 0;
    this.remotePort = 0;
    this.state = TcpState.Closed;
    this.passive = false;

    this.iss = 0;
    this.sndUna = 0;
    this.sndNxt = 0;
    this.sndMax = 0;
    this.sndWnd = 0;
    this.sndWl1 = 0;
    this.sndWl2 = 0;
    this.maxSndWnd = 0;
    this.sndShift = 0;
    this.segMss = Math.min(this.ourMss, TCP_DEFAULT_PEER_MSS);
    this.finQueued = false;
    this.finSeq = 0;
    this.finAcked = false;

    this.irs = 0;
    this.rcvNxt = 0;
    this.rcvAdv = 0;
    const recvSize = opts.recvBufferSize ?? TCB_DEFAULT_BUFFER;
    this.rcvShift = this.wsOffered ? windowShiftFor(recvSize) : 0;
    this.peerFinPending = false;
    this.peerFinSeq = 0;
    this.peerFinReceived = false;
    this.rcvMss = TCP_DEFAULT_PEER_MSS;

    this.sackOn = false;
    this.tsOn = false;
    this.wsOn = false;
    this.tsRecent = 0;
    this.lastAckSent = 0;
    this.tsOffset = Math.floor(this.random() * 2 ** 32) | 0;

    this.rto = new RtoEstimator({ initialMs: opts.rtoInitialMs, minMs: opts.rtoMinMs, maxMs: opts.rtoMaxMs });
    this.rttTiming = false;
    this.rttSeq = 0;
    this.rttStartMs = 0;
    this.retries = 0;

    this.cc = createCongestionControl(this.ccName as 'newreno' | 'cubic');
    this.inRecovery = false;
    this.recover = 0;
    this.dupAcks = 0;
    this.cwndInflate = 0;
    this.highRxt = 0;
    this.pipe = 0;
    this.scoreboard = new SackScoreboard();

    this.sendBuf = new SendBuffer(opts.sendBufferSize ?? TCB_DEFAULT_BUFFER);
    this.recvBuf = new RecvBuffer(recvSize, opts.maxOutOfOrder ?? 64);
    this.drainWanted = false;
    this.userClosed = false;

    this.timer = null;
    this.timerAt = -1;
    this.rtoAt = -1;
    this.delackAt = -1;
    this.persistAt = -1;
    this.keepAt = -1;
    this.twAt = -1;
    this.persistBackoff = 0;
    this.keepSent = 0;
    this.segSeq = 0;
    this.unackedBytes = 0;
    this.ackNow = false;

    this.chalStartMs = -CHALLENGE_ACK_WINDOW_MS;
    this.chalCount = 0;
    this.oowStartMs = -CHALLENGE_ACK_WINDOW_MS;
    this.oowCount = 0;

    this.pending = 0;
    this.closeReason = null;
    this.flushing = false;

    this.out = newTcpFields();
    this.scratch = new Uint8Array(Math.max(this.ourMss, TCP_DEFAULT_PEER_MSS) + 64);
    this.statsData = newStats();
    this.timerFn = () => this.onTimer();
  }

  // ------------------------------------------------------------------ emission

  /** Our TSval now: the clock in ms plus a per-connection offset. */
  tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) | 0;
  }

  /** The effective congestion window: cc.cwnd plus NewReno's inflation, at least one segment. */
  cwnd(): number {
    const w = this.cc.cwnd + this.cwndInflate;
    return w > this.segMss ? w : this.segMss;
  }

  /**
   * The window field for a segment sent now, and rcvAdv updated to match. Receiver SWS avoidance
   * (RFC 9293 §3.8.6.2.2): the right edge moves only by at least min(buffer / 2, MSS), and never
   * left ("the window should not be shrunk"). A SYN's window is never scaled (RFC 7323 §2.2).
   */
  windowField(syn: boolean): number {
    const free = this.recvBuf.window;
    if (syn) {
      this.rcvAdv = seqAdd32(this.rcvNxt, free > TCP_MAX_UNSCALED_WINDOW ? TCP_MAX_UNSCALED_WINDOW : free);
      return free > TCP_MAX_UNSCALED_WINDOW ? TCP_MAX_UNSCALED_WINDOW : free;
    }
    // Offsets from RCV.NXT (small int32s), not sequence numbers: V8 gives a variable that holds
    // both a `>>> 0` result and a double loaded from a field a tagged representation, and then
    // every uint32 at or above 2^31 stored in it is a new HeapNumber (measured: one per segment).
    const nxt = this.rcvNxt;
    const advOff = seqDiff(this.rcvAdv, nxt);
    let rightOff = free;
    if (rightOff < advOff) rightOff = advOff;
    else {
      const half = this.recvBuf.capacity >>> 1;
      const threshold = half < this.ourMss ? half : this.ourMss;
      if (rightOff - advOff < threshold) rightOff = advOff;
    }
    const wnd = rightOff > 0 ? rightOff : 0;
    const shift = this.rcvShift;
    let field = (wnd + (1 << shift) - 1) >>> shift;
    if (field > TCP_MAX_UNSCALED_WINDOW) field = TCP_MAX_UNSCALED_WINDOW;
    this.rcvAdv = seqAdd32(nxt, field << shift);
    return field;
  }

  /**
   * The clock in whole milliseconds. Times stay small integers (V8 Smis below 2^30 ms, 12 days
   * from the clock's origin), so passing them to a function that is not inlined allocates no
   * HeapNumber: that is what keeps the per-segment path allocation-free.
   */
  nowMs(): number {
    return Math.floor(this.clock.now());
  }

  /**
   * Emits one segment: `flags` at sequence number SND.UNA + `seqOff`, carrying `len` bytes of the
   * send buffer from there. The sequence number is passed as an offset, a small integer, because
   * a uint32 at or above 2^30 passed to a function V8 does not inline is boxed in a new HeapNumber.
   * Options follow the state: MSS, window scale, SACK-permitted on a SYN; timestamps whenever
   * negotiated (or offered, on a SYN); SACK blocks on ACKs while data is held out of order.
   */
  xmit(flags: number, seqOff: number, len: number, now: number): void {
    const f = this.out;
    const seq = seqAdd32(this.sndUna, seqOff);
    const syn = (flags & TCP_FLAG_SYN) !== 0;
    f.srcPort = this.localPort;
    f.dstPort = this.remotePort;
    f.seq = seq;
    f.ack = (flags & TCP_FLAG_ACK) !== 0 ? this.rcvNxt : 0;
    f.flags = flags;
    f.urgent = 0;
    if (syn) {
      f.mss = this.ourMss;
      // On a SYN-ACK offer only what the peer offered (RFC 7323 §1.3, RFC 2018 §2).
      const synAck = (flags & TCP_FLAG_ACK) !== 0;
      f.windowScale = (synAck ? this.wsOn : this.wsOffered) ? this.rcvShift : -1;
      f.sackPermitted = synAck ? this.sackOn : this.sackOffered;
      f.hasTimestamps = synAck ? this.tsOn : this.tsOffered;
    } else {
      f.mss = 0;
      f.windowScale = -1;
      f.sackPermitted = false;
      f.hasTimestamps = this.tsOn;
    }
    if (f.hasTimestamps) {
      f.tsVal = this.tsNow(now);
      f.tsEcr = (flags & TCP_FLAG_ACK) !== 0 || this.tsOn ? this.tsRecent : 0;
    }
    f.window = (flags & TCP_FLAG_RST) !== 0 ? 0 : this.windowField(syn);
    f.sackCount = 0;
    if (this.sackOn && !syn && (flags & TCP_FLAG_ACK) !== 0 && this.recvBuf.hasOutOfOrder) {
      // RFC 2018 §3 blocks; on a data segment only those that fit in the MSS budget.
      const room = len === 0 ? 4 : ((this.segMss - len - TCP_SACK_BASE_SPACE) / TCP_SACK_BLOCK_SPACE) | 0;
      const max = this.tsOn ? 3 : 4;
      if (room > 0) f.sackCount = this.recvBuf.sackBlocks(f.sackBlocks, room < max ? room : max);
    }
    let buf: Uint8Array = this.scratch;
    let off = 0;
    if (len > 0) {
      const sb = this.sendBuf;
      const n = sb.peek(seq | 0, len); // int32 view of the same seq: see INT32 below
      if (n >= len) {
        buf = sb.viewBuf;
        off = sb.viewOff;
      } else {
        sb.copyOut(seq | 0, this.scratch, 0, len);
      }
    }
    if ((flags & TCP_FLAG_ACK) !== 0) {
      this.lastAckSent = this.rcvNxt;
      this.ackNow = false;
      this.delackAt = -1;
      this.unackedBytes = 0;
    }
    const st = this.statsData;
    st.segmentsOut++;
    st.bytesOut += len;
    this.sink.emit(f, buf, off, len);
  }

  /**
   * A bare ACK. Its sequence number is SND.MAX, not SND.NXT (BSD does the same): after an RTO
   * SND.NXT goes back to SND.UNA, and an ACK sent from there would fall below the peer's RCV.NXT,
   * fail its acceptability test and be dropped with its news.
   */
  sendAck(now: number): void {
    this.xmit(TCP_FLAG_ACK, seqDiff(this.sndMax, this.sndUna), 0, now);
  }

  /**
   * The ACK answering an unacceptable segment. When that segment was itself a bare ACK, the
   * answer is rate-limited like a challenge ACK, so two confused ends cannot trade ACKs forever
   * (Linux's tcp_oow_rate_limited does the same).
   */
  oowAck(now: number, bare: boolean): void {
    if (bare) {
      if (now - this.oowStartMs >= CHALLENGE_ACK_WINDOW_MS) {
        this.oowStartMs = now;
        this.oowCount = 0;
      }
      if (this.oowCount >= CHALLENGE_ACK_LIMIT) return;
      this.oowCount++;
    }
    this.ackNow = true;
  }

  /** An RST for this connection: seq = SND.MAX, with an ACK when synchronized. */
  sendRst(now: number): void {
    this.xmit(TCP_FLAG_RST | TCP_FLAG_ACK, seqDiff(this.sndMax, this.sndUna), 0, now);
  }

  /** RFC 5961 §7: a challenge ACK, at most CHALLENGE_ACK_LIMIT per CHALLENGE_ACK_WINDOW_MS. */
  challengeAck(now: number): void {
    if (now - this.chalStartMs >= CHALLENGE_ACK_WINDOW_MS) {
      this.chalStartMs = now;
      this.chalCount = 0;
    }
    if (this.chalCount >= CHALLENGE_ACK_LIMIT) {
      this.drop(TcbDrop.challengeLimit);
      return;
    }
    this.chalCount++;
    this.statsData.challengeAcks++;
    this.sendAck(now);
  }

  drop(reason: TcbDrop): void {
    this.statsData.drops[reason]!++;
  }

  // ------------------------------------------------------------------ state exits

  /** Enters CLOSED: every timer off, the close event (and freed) queued. */
  enterClosed(reason: string | null): void {
    if (this.state === TcpState.Closed) return;
    const wasTimeWait = this.state === TcpState.TimeWait;
    this.state = TcpState.Closed;
    this.rtoAt = this.delackAt = this.persistAt = this.keepAt = this.twAt = -1;
    if (this.timer !== null) {
      this.clock.clearTimer(this.timer);
      this.timer = null;
      this.timerAt = -1;
    }
    if (!wasTimeWait) {
      this.closeReason = reason;
      this.pending |= EV_CLOSE;
    }
    this.pending |= EV_FREED;
  }

  /** Enters TIME-WAIT for 2 MSL (RFC 9293 §3.10.7.4); the user sees the close now. */
  enterTimeWait(now: number): void {
    this.state = TcpState.TimeWait;
    this.rtoAt = this.persistAt = this.keepAt = -1;
    this.twAt = now + this.timeWaitMs;
    this.closeReason = null;
    this.pending |= EV_CLOSE;
  }

  // ------------------------------------------------------------------ timer plumbing

  /** Arms the clock timer for the earliest deadline if that is earlier than the armed one. */
  rearm(now: number): void {
    let at = this.rtoAt;
    if (this.delackAt >= 0 && (at < 0 || this.delackAt < at)) at = this.delackAt;
    if (this.persistAt >= 0 && (at < 0 || this.persistAt < at)) at = this.persistAt;
    if (this.keepAt >= 0 && (at < 0 || this.keepAt < at)) at = this.keepAt;
    if (this.twAt >= 0 && (at < 0 || this.twAt < at)) at = this.twAt;
    if (at < 0) return;
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimer(this.timerFn, at > now ? at - now : 0);
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = -1;
    if (this.state === TcpState.Closed) return;
    const now = this.nowMs();
    this.runTimers(now);
    if ((this.state as TcpState) !== TcpState.Closed) this.rearm(now);
    this.flushEvents();
  }

  /** Runs every due deadline. */
  protected abstract runTimers(now: number): void;

  // ------------------------------------------------------------------ events

  /** Delivers the queued events, in a fixed order; safe against calls back into the Tcb. */
  flushEvents(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending !== 0) {
        const p = this.pending;
        const ev = this.events;
        if ((p & EV_ESTABLISHED) !== 0) {
          this.pending &= ~EV_ESTABLISHED;
          ev.onEstablished?.();
        } else if ((p & EV_READABLE) !== 0) {
          this.pending &= ~EV_READABLE;
          ev.onReadable?.();
        } else if ((p & EV_END) !== 0) {
          this.pending &= ~EV_END;
          ev.onEnd?.();
        } else if ((p & EV_DRAIN) !== 0) {
          this.pending &= ~EV_DRAIN;
          ev.onDrain?.();
        } else if ((p & EV_CLOSE) !== 0) {
          this.pending &= ~EV_CLOSE;
          ev.onClose?.(this.closeReason);
        } else {
          this.pending &= ~EV_FREED;
          ev.onFreed?.();
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
