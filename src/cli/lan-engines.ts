/**
 * The engines of the virtual-LAN demo (`npm start`), a dataplane plugin module loaded in every
 * port worker. Each wraps a library device as it is, so that the demo shows the real thing:
 *
 *   dhcp-server    L2  a DHCPServer on the segment
 *   slirp-gateway  L2  an L2Adapter over a slirp Stack: the segment's gateway and NAT to the
 *                      host's sockets (hostLoopback: its own address reaches the host's loopback)
 *   lan-host       L2  an L2Adapter with a DHCP client over a vclient Client: leases an address,
 *                      then fetches a URL through the virtual network on command
 *
 * Options are plain data (the dataplane passes them across threads); bad ones are typed errors.
 */

import type { Cleanup, L2Device } from '../core/device.js';
import type { DataplaneModule, Engine } from '../dataplane/index.js';
import { DHCPServer } from '../dhcp/server.js';
import { createDhcpClient } from '../dhcp/client.js';
import { PktTypeError } from '../errors.js';
import { L2Adapter } from '../l2/adapter.js';
import { Stack } from '../slirp/stack.js';
import { Client } from '../vclient/index.js';
import { formatIPv4 } from '../wire/addr.js';

/** Joins the link end `dev` and the engine's device both ways, as connectL2 does. */
function join(dev: L2Device, own: L2Device): Cleanup {
  dev.setHandler((frame) => own.send(frame));
  own.setHandler((frame) => dev.send(frame));
  return () => {
    dev.setHandler(() => {});
    own.setHandler(() => {});
  };
}

function record(options: unknown, kind: string): Record<string, unknown> {
  if (options === null || typeof options !== 'object') throw new PktTypeError(`${kind}: options must be an object, got ${String(options)}`);
  return options as Record<string, unknown>;
}

class DhcpServerEngine implements Engine<L2Device> {
  private readonly server: DHCPServer;
  constructor(options: unknown) {
    const o = record(options, 'dhcp-server');
    this.server = new DHCPServer(o as unknown as ConstructorParameters<typeof DHCPServer>[0]);
  }
  attach(dev: L2Device): Cleanup {
    return join(dev, this.server);
  }
  stats(): unknown {
    const s = this.server.stats();
    return { leases: this.server.leases().map((l) => ({ mac: l.mac, addr: l.addr, hostname: l.hostname })), rx: s.rx, tx: s.tx, drops: s.drops };
  }
  close(): void {
    this.server.close();
  }
}

class SlirpGatewayEngine implements Engine<L2Device> {
  private readonly stack: Stack;
  private readonly adapter: L2Adapter;
  constructor(options: unknown) {
    const o = record(options, 'slirp-gateway');
    if (typeof o['addr'] !== 'string') throw new PktTypeError(`slirp-gateway: addr must be a prefix like '10.0.0.1/24', got ${String(o['addr'])}`);
    this.stack = new Stack({ addr: o['addr'], hostLoopback: o['hostLoopback'] === true, policy: { allowLoopback: o['hostLoopback'] === true } });
    this.adapter = new L2Adapter(this.stack, typeof o['mac'] === 'string' ? { mac: o['mac'] } : {});
  }
  attach(dev: L2Device): Cleanup {
    return join(dev, this.adapter);
  }
  stats(): unknown {
    const s = this.stack.stats();
    return { tcpFlows: s.tcpFlows, udpFlowsOpen: s.udpFlowsOpen, drops: s.drops, adapter: this.adapter.stats() };
  }
  async close(): Promise<void> {
    this.adapter.close();
    await this.stack.close();
  }
}

class LanHostEngine implements Engine<L2Device> {
  private readonly client: Client;
  private readonly adapter: L2Adapter;
  private readonly leased: Promise<void>;
  constructor(options: unknown) {
    const o = record(options, 'lan-host');
    const hostname = typeof o['hostname'] === 'string' ? o['hostname'] : 'pktkit-host';
    this.client = new Client({});
    this.adapter = new L2Adapter(this.client, { dhcp: createDhcpClient({ hostname }), probeTimeoutMs: 300 });
    this.leased = new Promise((resolve) => this.adapter.onLease((l) => l !== null && resolve()));
  }
  attach(dev: L2Device): Cleanup {
    const undo = join(dev, this.adapter);
    this.adapter.startDHCP();
    return undo;
  }
  stats(): unknown {
    return { lease: this.adapter.lease?.toString() ?? null, adapter: this.adapter.stats() };
  }
  async command(name: string, payload: unknown): Promise<unknown> {
    if (name === 'lease') {
      await this.leased;
      return { addr: this.adapter.lease?.toString(), gateway: this.adapter.gateway4?.toString(), dns: this.adapter.dnsServers.map(formatIPv4) };
    }
    if (name === 'fetch') {
      if (typeof payload !== 'string') throw new PktTypeError(`lan-host fetch: expected a URL, got ${String(payload)}`);
      await this.leased;
      const res = await this.client.fetch(payload);
      return { status: res.status, body: await res.text() };
    }
    throw new PktTypeError(`lan-host: unknown command '${name}' (expected lease, fetch)`);
  }
  async close(): Promise<void> {
    this.adapter.close();
    await this.client.close();
  }
}

const lanEngines: DataplaneModule = (registry) => {
  registry.define('dhcp-server', { layer: 2, create: (options) => new DhcpServerEngine(options) });
  registry.define('slirp-gateway', { layer: 2, create: (options) => new SlirpGatewayEngine(options) });
  registry.define('lan-host', { layer: 2, create: (options) => new LanHostEngine(options) });
};
export default lanEngines;
