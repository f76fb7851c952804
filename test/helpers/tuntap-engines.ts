/**
 * Dataplane plugin engines for the TUN/TAP tests (loaded in every port worker):
 *
 *   echo-responder  L3  answers ICMP echo requests to `addr` in place and sends them back
 *   l2-responder    L2  a host on a TAP's segment: ARP, NDP and echo for `ip4` / `ip6` (l2-responder.ts)
 */
import type { L2Device, L3Device } from '../../src/core/device.js';
import type { DataplaneModule, Engine } from '../../src/dataplane/index.js';
import { parseIPv4, parseIPv6, toMac } from '../../src/wire/addr.js';
import { EchoResponder } from './icmp-echo.js';
import { L2Responder } from './l2-responder.js';

class EchoEngine implements Engine<L3Device> {
  private readonly addr: number;
  private readonly r = new EchoResponder();

  constructor(options: unknown) {
    const o = (options ?? {}) as { addr?: string };
    if (typeof o.addr !== 'string') throw new TypeError('echo-responder: options.addr (an IPv4 address) is required');
    this.addr = parseIPv4(o.addr);
  }

  attach(dev: L3Device): () => void {
    dev.setHandler((p) => {
      if (this.r.answer(p, this.addr)) dev.send(p);
    });
    return () => {};
  }

  stats(): unknown {
    return { answered: this.r.answered, ignored: this.r.ignored };
  }

  close(): void {}
}

class L2Engine implements Engine<L2Device> {
  private readonly r: L2Responder;

  constructor(options: unknown) {
    const o = (options ?? {}) as { mac?: string; ip4?: string; ip6?: string };
    if (typeof o.mac !== 'string' || typeof o.ip4 !== 'string') throw new TypeError('l2-responder: options.mac and options.ip4 are required');
    this.r = new L2Responder(toMac(o.mac), parseIPv4(o.ip4), o.ip6 === undefined ? null : parseIPv6(o.ip6));
  }

  attach(dev: L2Device): () => void {
    dev.setHandler((f) => {
      const reply = this.r.handle(f);
      if (reply !== null) dev.send(reply);
    });
    return () => {};
  }

  stats(): unknown {
    return { echoes: this.r.echoes, seen: this.r.seen.length, arp: this.r.seen.filter((s) => s.kind === 'arp').length, ns: this.r.seen.filter((s) => s.kind === 'ns').length };
  }

  close(): void {}
}

const register: DataplaneModule = (registry) => {
  registry.define('echo-responder', { layer: 3, create: (options) => new EchoEngine(options) });
  registry.define('l2-responder', { layer: 2, create: (options) => new L2Engine(options) });
};
export default register;
