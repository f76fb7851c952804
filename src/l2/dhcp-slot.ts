/**
 * The adapter's side of the DHCP hook (dhcp-hook.ts): the engine, made on the first start and
 * reused after, whether it runs, and what the last lease left (address, DNS servers), with the
 * `onLease` listeners. Cold path, except `running`, which the receive path reads per frame.
 */

import { ConfigError, intInRange } from '../errors.js';
import { IpAddr, IpPrefix } from '../wire/addr.js';
import type { DhcpClientEngine, DhcpClientFactory, DhcpClientHost, DhcpLease } from './dhcp-hook.js';

export class DhcpSlot {
  /** True while the engine runs: the receive path hands it port-68 frames. */
  running = false;
  /** The address of the current lease, or null. */
  leased: IpPrefix | null = null;
  /** DNS servers (IPv4 u32) of the current lease. */
  dns: number[] = [];
  private engine: DhcpClientEngine | null = null;
  private readonly factory: DhcpClientFactory | null;
  private readonly makeHost: () => DhcpClientHost;
  private readonly listeners: ((lease: DhcpLease | null) => void)[] = [];

  constructor(factory: DhcpClientFactory | null, makeHost: () => DhcpClientHost) {
    this.factory = factory;
    this.makeHost = makeHost;
  }

  /** @throws {ConfigError} code ERR_PKT_CONFIG when there is no factory. */
  start(): void {
    if (this.factory === null) {
      throw new ConfigError('L2Adapter.startDHCP: no DHCP client: pass a DhcpClientFactory as the `dhcp` option (e.g. from pktkit/dhcp)');
    }
    if (this.engine === null) this.engine = this.factory(this.makeHost());
    if (this.running) return;
    this.running = true;
    this.engine.start();
  }

  stop(): void {
    if (!this.running || this.engine === null) return;
    this.running = false;
    this.engine.stop();
  }

  /** Offers a port-68 frame to the running engine; true when it consumed it. */
  handleFrame(frame: Uint8Array): boolean {
    return this.engine !== null && this.engine.handleFrame(frame);
  }

  /**
   * Records `lease` (checked) and returns its prefix; null forgets the lease and returns the
   * prefix it had, if any.
   * @throws {PktRangeError} on an address, prefix length, router or DNS server out of range.
   */
  record(lease: DhcpLease | null): IpPrefix | null {
    if (lease === null) {
      const had = this.leased;
      this.leased = null;
      this.dns = [];
      return had;
    }
    intInRange('lease addr', lease.addr, 0, 0xffff_ffff);
    intInRange('lease prefixLen', lease.prefixLen, 0, 32);
    if (lease.router !== null) intInRange('lease router', lease.router, 0, 0xffff_ffff);
    for (const d of lease.dns) intInRange('lease dns', d, 0, 0xffff_ffff);
    this.leased = new IpPrefix(IpAddr.fromV4(lease.addr), lease.prefixLen);
    this.dns = lease.dns.slice();
    return this.leased;
  }

  /** Calls `listener` on every lease applied (null: lease lost); returns the unsubscribe function. */
  onLease(listener: (lease: DhcpLease | null) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  /** Tells the listeners (each gets its own copy). */
  notify(lease: DhcpLease | null): void {
    for (const l of [...this.listeners]) l(lease === null ? null : { addr: lease.addr, prefixLen: lease.prefixLen, router: lease.router, dns: lease.dns.slice() });
  }

  clearListeners(): void {
    this.listeners.length = 0;
  }
}
