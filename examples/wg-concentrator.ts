/**
 * A WireGuard VPN concentrator on a dataplane worker (pktkit/dataplane's `wg` engine with `nat`):
 * every peer gets its own namespace of a slirp Stack in the worker, so two road warriors with the
 * same inner address (10.0.0.2) both reach a web server on this machine's loopback through it.
 * The clients run here: a WgDevice each, with a virtual host (pktkit/vclient) behind it. No root.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectL3 } from 'pktkit/core';
import { Dataplane, WG_ENGINE_MODULE } from 'pktkit/dataplane';
import { Client } from 'pktkit/vclient';
import { DgramBind, WgDevice, genkey, pubkey } from 'pktkit/wg';

const web = http.createServer((req, res) => res.end(`hello ${req.socket.remoteAddress}\n`));
await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
const webPort = (web.address() as AddressInfo).port;

const dp = new Dataplane({ workers: 1, modules: [WG_ENGINE_MODULE] });
const serverKey = genkey();
const clientKeys = [genkey(), genkey()];
const wg = await dp.create({
  kind: 'wg',
  options: {
    privateKey: serverKey,
    listen: '127.0.0.1:0',
    // 10.0.0.1 is the gateway; with hostLoopback it is also this machine's 127.0.0.1.
    nat: { addr: '10.0.0.1/24', hostLoopback: true },
    // Peers not configured in advance, admitted by key once their handshake authenticated.
    acceptUnknown: { allowedIps: ['10.0.0.2/32'], keys: clientKeys.map(pubkey) },
  },
});
const port = (await dp.command(wg, 'port')) as number;

const clients = await Promise.all(
  clientKeys.map(async (privateKey) => {
    const bind = await DgramBind.open({ address: '127.0.0.1' });
    const dev = new WgDevice({ privateKey, bind, peers: [{ publicKey: pubkey(serverKey), endpoint: `127.0.0.1:${port}`, allowedIps: ['0.0.0.0/0'] }] });
    const host = new Client({ addr: '10.0.0.2/24', gateway: '10.0.0.1' }); // the same address twice
    connectL3(host, dev);
    return { dev, host };
  }),
);
for (const [i, c] of clients.entries()) {
  const res = await c.host.fetch(`http://10.0.0.1:${webPort}/`, { signal: AbortSignal.timeout(10_000) });
  console.log(`client ${i + 1} (10.0.0.2): ${res.status} ${(await res.text()).trim()}`);
}
const nat = (await dp.command(wg, 'nat')) as { namespaces: number };
console.log(`concentrator: ${nat.namespaces} namespaces, one per peer`);

for (const c of clients) {
  c.host.close();
  c.dev.close();
}
await dp.close();
web.closeAllConnections();
await new Promise((r) => web.close(r));
