/**
 * The address members every L3 device has (`addr`, `setAddr`, `watchAddr`), as a mixin over a
 * device base class, so that pipes, ring and zero-copy link ends and direct link ends share one
 * implementation. Cold path: addresses change on configuration and DHCP, never per packet.
 *
 *   export class RingL3Device extends withL3Addr(RingPort) implements L3Device { … }
 */

import { IpPrefix } from '../wire/addr.js';
import type { AddrListener } from './device.js';

// A mixin's base must be constructible with any arguments (TypeScript's mixin rule).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Closable = abstract new (...args: any[]) => { close(): void };

/** Adds the L3Device address members to `Base`; `close()` also drops the address listeners. */
export function withL3Addr<T extends Closable>(Base: T) {
  abstract class WithL3Addr extends Base {
    // Public only because TypeScript cannot emit declarations for private members of a mixin
    // class: use `addr`, `setAddr` and `watchAddr`.
    /** @internal */
    _prefix: IpPrefix | null = null;
    /** @internal */
    _addrListeners: AddrListener[] = [];

    /** The device's address and prefix, or null. */
    get addr(): IpPrefix | null {
      return this._prefix;
    }

    /** Sets the address (text or IpPrefix; null removes it) and tells the watchers. */
    setAddr(addr: IpPrefix | string | null): void {
      this._prefix = addr === null ? null : IpPrefix.from(addr);
      for (const l of [...this._addrListeners]) l(this._prefix);
    }

    /** Calls `listener` on every address change; returns the unsubscribe function. */
    watchAddr(listener: AddrListener): () => void {
      this._addrListeners.push(listener);
      return () => {
        const i = this._addrListeners.indexOf(listener);
        if (i !== -1) this._addrListeners.splice(i, 1);
      };
    }

    override close(): void {
      super.close();
      this._addrListeners = [];
    }
  }
  return WithL3Addr;
}
