/**
 * Inbound port forwarding: a host TCP port whose connections are carried to a virtual
 * `ip:port` through the namespace's vtcp stack (the Stack dials from its own address, as
 * slirp4netns's `add_hostfwd`). Each accepted socket stays paused until the virtual connection
 * is established, then the two are proxied like an outbound flow (tcp-proxy.ts). A virtual
 * side that refuses or does not answer within the dial timeout resets the host socket.
 */

import * as net from 'node:net';
import type { L3Device } from '../core/device.js';
import { IpAddr } from '../wire/addr.js';
import { intInRange } from '../errors.js';
import type { Conn } from '../vtcp/conn.js';
import type { SlirpHost, Space } from './space.js';

export interface ForwardOptions {
  /** Host port to listen on (0: any free port; see `PortForward.port`). */
  hostPort: number;
  /** Host address to listen on (default '127.0.0.1'). */
  hostAddr?: string;
  /** The virtual destination. */
  virtualAddr: string;
  virtualPort: number;
  /** The device (given to connectL3) whose namespace holds the destination; default the Stack's own. */
  namespace?: L3Device;
}

export interface ForwardStats {
  accepted: number;
  connected: number;
  failed: number;
}

export class PortForward {
  readonly hostAddr: string;
  readonly virtualAddr: string;
  readonly virtualPort: number;
  readonly stats: ForwardStats = { accepted: 0, connected: 0, failed: 0 };
  private readonly wantPort: number;
  private readonly server: net.Server;
  private readonly space: Space;
  private readonly host: SlirpHost;
  private readonly onClose: (f: PortForward) => void;
  private readonly dialing = new Set<Conn>();
  private closing: Promise<void> | null = null;

  /** @internal Made by Stack.forward. @throws {PktTypeError}/{PktRangeError} for bad options. */
  constructor(opts: ForwardOptions, space: Space, host: SlirpHost, onClose: (f: PortForward) => void) {
    this.wantPort = intInRange('hostPort', opts.hostPort, 0, 65535);
    this.hostAddr = opts.hostAddr ?? '127.0.0.1';
    this.virtualAddr = IpAddr.parse(opts.virtualAddr).toString();
    this.virtualPort = intInRange('virtualPort', opts.virtualPort, 1, 65535);
    this.space = space;
    this.host = host;
    this.onClose = onClose;
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => this.accept(sock));
  }

  /** @internal */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.wantPort, this.hostAddr, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** The host port listened on. */
  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  private accept(sock: net.Socket): void {
    this.stats.accepted++;
    const space = this.space;
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      this.stats.failed++;
      if (!sock.destroyed) sock.resetAndDestroy();
    };
    sock.on('error', () => {});
    if (space.closed || space.flowCount >= this.host.limits.maxFlows) {
      if (!space.closed) this.host.drop('flowLimit');
      return fail();
    }
    let conn: Conn;
    try {
      conn = space.tcp.dialConn(this.virtualAddr, this.virtualPort);
    } catch {
      return fail();
    }
    this.dialing.add(conn);
    const timer = this.host.clock.setTimer(() => conn.destroy(), this.host.limits.dialTimeoutMs);
    const onError = (): void => {
      this.host.clock.clearTimer(timer);
      this.dialing.delete(conn);
      fail();
    };
    conn.once('error', onError);
    conn.once('close', onError);
    conn.once('connect', () => {
      this.host.clock.clearTimer(timer);
      this.dialing.delete(conn);
      conn.off('error', onError);
      conn.off('close', onError);
      if (sock.destroyed) {
        conn.destroy();
        return;
      }
      this.stats.connected++;
      sock.removeAllListeners('error');
      space.proxy(conn, sock);
    });
  }

  /** Stops listening and aborts connections still being dialled (proxied ones go on). Idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    for (const c of this.dialing) c.destroy();
    this.dialing.clear();
    this.onClose(this);
    this.closing = new Promise((resolve) => this.server.close(() => resolve()));
    return this.closing;
  }
}
