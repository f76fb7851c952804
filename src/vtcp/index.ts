/**
 * pktkit/vtcp: a sans-I/O TCP engine (RFC 9293) and a stream API over it.
 *
 *   Tcb        one connection's state machine: segments in (`input`), segments out (SegmentSink)
 *   Listener   LISTEN for a port: bounded backlog, accept queue, SYN cookies under a flood
 *   Conn       a node:stream Duplex over a Tcb, shaped like net.Socket
 *   TcpStack   IPv4/IPv6 over an L3Device (a Tun, a pipe, a hub port): demultiplexing, RSTs, dial/listen
 *
 * and the building blocks they are made of (sequence arithmetic, RTO, buffers, SACK scoreboard,
 * congestion control, SYN cookies, ISNs). See contract.ts for the contracts between them.
 */
export * from './contract.js';
export { Tcb, TcbDrop, windowShiftFor, emitRstReply, type TcbHooks } from './tcb.js';
export { Listener, type ListenerOptions, type ListenerStats, type AcceptedConnection } from './listener.js';
export { Conn, ConnError, type ConnOptions } from './conn.js';
export {
  TcpStack, TcpServer, StackDrop, EPHEMERAL_PORT_MIN, EPHEMERAL_PORT_MAX, STACK_RTO_MIN_MS,
  type TcpStackOptions, type DialOptions, type ListenOptions, type TcpStackStats, type HeldSyn,
} from './stack.js';
export { seqLt, seqLe, seqGt, seqGe, seqAdd, seqDiff, seqMax, seqMin, seqInRange } from './seq.js';
export { RtoEstimator } from './rto.js';
export { RecvBuffer } from './recv-buffer.js';
export { SendBuffer } from './send-buffer.js';
export { SackScoreboard } from './sack-scoreboard.js';
export { createCongestionControl, NewReno, Cubic } from './cc/index.js';
export { SynCookies } from './syn-cookies.js';
export { IsnGenerator } from './isn.js';
