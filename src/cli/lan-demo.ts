/**
 * The virtual LAN with DHCP and NAT (the seed's example), on the multi-core dataplane:
 *
 *        worker 0                                   worker 1
 *   dhcp (10.0.0.2) ─┐                      ┌─ gateway: L2Adapter + slirp Stack (10.0.0.1)
 *                    ├─ lan (L2Hub) ═ rings ═┤      NAT to this host's sockets
 *                    │                      └─ alpha: L2Adapter + DHCP client + vclient
 *
 * Alpha gets its address by DHCP (DISCOVER, OFFER, an ARP probe, REQUEST, ACK), then fetches a
 * page over HTTP from a server this process runs on 127.0.0.1: through the segment to the
 * gateway, whose slirp Stack proxies the TCP flow to the real socket (its own address stands for
 * the host's loopback, as slirp4netns's 10.0.2.2 does). No root, no kernel interface.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Dataplane } from '../dataplane/index.js';

const ENGINES = new URL('./lan-engines.js', import.meta.url).href;

interface FetchResult {
  status: number;
  body: string;
}

/** Runs the LAN demo, printing with `say`; resolves when everything is closed. */
export async function lanDemo(say: (s: string) => void): Promise<void> {
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from ${req.socket.remoteAddress} on the host: you asked for ${req.url}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const dp = new Dataplane({ workers: 2, modules: [ENGINES] });
  const failures: string[] = [];
  dp.on('error', (e) => failures.push(`worker ${e.worker} failed: ${e.error.message}`));
  try {
    await dp.ready();
    say(`virtual LAN with DHCP and NAT on two port workers (a web server runs on 127.0.0.1:${port})`);
    const lan = await dp.create({ kind: 'l2hub' }, { worker: 0 });
    const dhcp = await dp.create(
      { kind: 'dhcp-server', options: { serverIp: '10.0.0.2', prefixLen: 24, rangeStart: '10.0.0.100', rangeEnd: '10.0.0.199', router: '10.0.0.1', leaseSecs: 3600 } },
      { worker: 0 },
    );
    const gateway = await dp.create({ kind: 'slirp-gateway', options: { addr: '10.0.0.1/24', hostLoopback: true, mac: '02:00:00:00:00:01' } }, { worker: 1 });
    const alpha = await dp.create({ kind: 'lan-host', options: { hostname: 'alpha' } }, { worker: 1 });
    await dp.link(dhcp, lan);
    await dp.link(gateway, lan);
    await dp.link(alpha, lan);
    say('  lan: an L2Hub on worker 0, with the DHCP server (10.0.0.2) beside it');
    say('  gateway (10.0.0.1, slirp NAT) and alpha (a vclient) on worker 1, joined to the hub by rings');

    const lease = (await dp.command(alpha, 'lease')) as { addr: string; gateway: string };
    say(`alpha leased ${lease.addr} by DHCP, gateway ${lease.gateway}`);
    const url = `http://10.0.0.1:${port}/index.txt`;
    const res = (await dp.command(alpha, 'fetch', url)) as FetchResult;
    say(`alpha GET ${url}: ${res.status} ${JSON.stringify(res.body.trim())}`);

    // Per-port statistics: each engine's own counters and each link's rings.
    const stats = await dp.stats();
    const names = new Map([[lan.id, 'lan'], [dhcp.id, 'dhcp'], [gateway.id, 'gateway'], [alpha.id, 'alpha']]);
    for (const link of stats.links) {
      const a = names.get(link.a) ?? link.a;
      const b = names.get(link.b) ?? link.b;
      const ab = link.aToB === null ? '' : `, ${link.aToB.pushed} frames ${a} -> ${b}, ${link.bToA?.pushed ?? 0} back (a ${link.mode} link)`;
      say(`  ${a} <-> ${b}${ab}`);
    }
    for (const w of stats.workers) {
      for (const e of w.engines) {
        if (e.kind === 'dhcp-server') say(`  dhcp server leases: ${JSON.stringify((e.stats as { leases: unknown }).leases)}`);
        if (e.kind === 'slirp-gateway') say(`  gateway: ${(e.stats as { tcpFlows: number }).tcpFlows} TCP flow(s) open now`);
      }
    }
  } finally {
    await dp.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}
