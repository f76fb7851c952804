/** What bench/udp.ts and its workers (bench/udp-roles.ts) share: the role description and the control cells. */

export type UdpBenchKind = 'dgram' | 'batched';

export interface UdpRole {
  role: 'send' | 'recv';
  kind: UdpBenchKind;
  size: number;
  window: number;
  batch: number;
  gso: boolean;
  gro: boolean;
  /** Int32Array cells below. */
  ctl: SharedArrayBuffer;
  /** send: the receiver's port. */
  port?: number;
}

/** ctl cells: datagrams received so far, and the phase (RUN, then STOP). */
export const RECEIVED = 0;
export const PHASE = 16;
export const STOP = 1;
