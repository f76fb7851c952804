/**
 * The Client on a virtual LAN: behind an L2Adapter on an L2Hub, its address set by a DHCP lease
 * (the adapter calls setAddr), its DNS servers from the lease, ARP done by the adapter; two such
 * Clients talk TCP, and UDP to the leased addresses. Real time (the DHCP client's timers).
 */
import test from 'ava';
import { L2Hub } from '../../src/core/l2-hub.js';
import { DHCPServer } from '../../src/dhcp/server.js';
import { createDhcpClient } from '../../src/dhcp/client.js';
import { L2Adapter } from '../../src/l2/adapter.js';
import { Client } from '../../src/vclient/client.js';
import type { Conn } from '../../src/vtcp/conn.js';
import { formatIPv4 } from '../../src/wire/addr.js';

test('two Clients get DHCP leases through L2Adapters and talk TCP and UDP', async (t) => {
  // pktkit's DHCP and ARP timers never hold the event loop; this does while the leases come.
  const keep = setInterval(() => {}, 1000);
  const hub = new L2Hub();
  const server = new DHCPServer({ serverIp: '10.5.0.1', prefixLen: 24, rangeStart: '10.5.0.100', rangeEnd: '10.5.0.199', router: '10.5.0.1', dns: ['10.5.0.53'], leaseSecs: 3600 });
  hub.connect(server);
  const host = (name: string) => {
    const client = new Client();
    const adapter = new L2Adapter(client, { dhcp: createDhcpClient({ hostname: name }), probeTimeoutMs: 50 });
    adapter.onLease((l) => {
      if (l !== null) client.setDns(l.dns.map(formatIPv4));
    });
    hub.connect(adapter);
    const leased = new Promise<void>((resolve) => adapter.onLease((l) => l !== null && resolve()));
    adapter.startDHCP();
    return { client, adapter, leased };
  };
  const a = host('alpha');
  const b = host('beta');
  await Promise.all([a.leased, b.leased]);
  t.truthy(a.client.addr);
  t.true(a.client.addr!.toString().startsWith('10.5.0.1'));
  t.is(a.client.addr!.bits, 24);
  t.deepEqual(a.client.resolver.getServers(), ['10.5.0.53']);
  const bAddr = b.client.addr!.addr.toString();
  b.client.listen(80).on('connection', (c: Conn) => c.end(`hello from ${c.localAddress}`));
  const conn = await a.client.dial('tcp', `${bAddr}:80`, { timeoutMs: 5000 });
  const chunks: Buffer[] = [];
  conn.on('data', (d: Buffer) => chunks.push(d));
  await new Promise((r) => conn.on('end', r));
  t.is(Buffer.concat(chunks).toString(), `hello from ${bAddr}`);
  const rx = b.client.udp().bind(9);
  const got = new Promise<string>((r) => rx.once('message', (m: Buffer, ri) => r(`${m} ${ri.address}`)));
  a.client.udp().send('ping', 9, bAddr);
  t.is(await got, `ping ${a.client.addr!.addr}`);
  a.adapter.close();
  b.adapter.close();
  a.client.close();
  b.client.close();
  server.close();
  hub.close();
  clearInterval(keep);
});
