/**
 * The address part of an L3 link endpoint (ring or direct): the prefix, and the listeners that
 * `watchAddr` registers (an L3Hub follows address changes through them). Cold path only.
 */

import type { AddrListener } from '../core/device.js';
import { IpPrefix } from '../wire/addr.js';

export class L3AddrCell {
  prefix: IpPrefix | null;
  private listeners: AddrListener[] = [];

  constructor(addr: IpPrefix | string | null) {
    this.prefix = addr === null ? null : IpPrefix.from(addr);
  }

  set(addr: IpPrefix | string | null): void {
    this.prefix = addr === null ? null : IpPrefix.from(addr);
    for (const l of [...this.listeners]) l(this.prefix);
  }

  watch(listener: AddrListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  clear(): void {
    this.listeners = [];
  }
}
