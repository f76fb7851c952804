/**
 * Direct devices: the two ends of a link between engines on the same port worker. No ring and no
 * copy: what one engine sends into its end is handed, synchronously and in the same buffer, to
 * the handler the other engine installed on the other end.
 *
 *   engine A --send--> DirectL2Device a ==(same call)==> handler of b --> engine B
 *   engine A <--handler of a <==(same call)== DirectL2Device b <--send-- engine B
 *
 * Counters as for a pipe: tx = frames its engine sent in, rx = frames handed to its engine;
 * drops by reason (`closed`, `no-handler`). What the peer's handler throws propagates to the
 * sender, which for a hub means it is counted as `send-failed` on that port.
 */

import { withL3Addr } from '../core/l3-addr.js';
import type { FrameHandler, L2Device, L3Device } from '../core/device.js';
import { DropReason, PortCounters, type PortStats } from '../core/stats.js';
import { randomLocalMac, type IpPrefix } from '../wire/addr.js';

class DirectPort {
  readonly counters = new PortCounters();
  /** The other end; set once by `directPair`. */
  peer: DirectPort = this;
  protected handler: FrameHandler | null = null;
  protected closed = false;

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    const p = this.peer;
    if (p.closed) return this.counters.drop(DropReason.Closed);
    const h = p.handler;
    if (h === null) return this.counters.drop(DropReason.NoHandler);
    this.counters.tx(frame.length);
    p.counters.rx(frame.length);
    h(frame);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): PortStats {
    return this.counters.snapshot();
  }

  /** Closes this end; the other end drops what it sends from now on. Idempotent. */
  close(): void {
    this.closed = true;
    this.handler = null;
  }
}

export class DirectL2Device extends DirectPort implements L2Device {
  readonly hwAddr: number = randomLocalMac();
}

export class DirectL3Device extends withL3Addr(DirectPort) implements L3Device {
  constructor(addr: IpPrefix | string | null = null) {
    super();
    this.setAddr(addr);
  }
}

/** Two L2 ends joined to each other. */
export function directL2Pair(): [DirectL2Device, DirectL2Device] {
  const a = new DirectL2Device();
  const b = new DirectL2Device();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Two L3 ends joined to each other, with the addresses each end's engine sees. */
export function directL3Pair(addrA: string | null, addrB: string | null): [DirectL3Device, DirectL3Device] {
  const a = new DirectL3Device(addrA);
  const b = new DirectL3Device(addrB);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
