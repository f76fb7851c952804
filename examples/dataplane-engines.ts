/**
 * A dataplane plugin module for examples/dataplane.ts: one engine kind, `counter`, an Ethernet
 * endpoint that sends broadcast frames on command and counts what it receives. A plugin module's
 * default export registers kinds; the dataplane imports it in every port worker.
 */
import type { L2Device } from 'pktkit';
import type { DataplaneModule, Engine } from 'pktkit/dataplane';
import { EtherType, newFrame } from 'pktkit';

class Counter implements Engine<L2Device> {
  private dev: L2Device | null = null;
  private received = 0;
  private readonly mac: string;
  constructor(options: unknown) {
    this.mac = (options as { mac: string }).mac;
  }
  attach(dev: L2Device): () => void {
    this.dev = dev;
    dev.setHandler(() => {
      this.received++; // the frame is borrowed: valid only during this call
    });
    return () => {
      this.dev = null;
    };
  }
  stats(): unknown {
    return { received: this.received };
  }
  command(name: string, payload: unknown): unknown {
    if (name !== 'send') throw new TypeError(`counter: unknown command ${name}`);
    const frame = newFrame('ff:ff:ff:ff:ff:ff', this.mac, EtherType.IPv4, new Uint8Array(46));
    for (let i = 0; i < (payload as number); i++) this.dev?.send(frame);
    return payload;
  }
  close(): void {
    this.dev = null;
  }
}

const register: DataplaneModule = (registry) => {
  registry.define('counter', { layer: 2, create: (options) => new Counter(options) });
};
export default register;
