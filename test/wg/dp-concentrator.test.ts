/**
 * The `wg` dataplane engine in concentrator mode (`nat`): WireGuard peers terminated in a port
 * worker, each in its own namespace of a slirp Stack built there, reaching a real TCP server on
 * the host's loopback. The clients run on this thread: a WgDevice on a dgram bind with a vclient
 * Client behind it, so the whole path is real (UDP on loopback, vtcp on both sides, a real
 * socket at the end).
 *
 *   Client(10.0.0.2) -- WgDevice ~~UDP~~ [worker: wg engine -> peer port -> Stack namespace] -> 127.0.0.1 echo server
 */

import test from 'ava';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { connectL3 } from '../../src/core/connect.js';
import { WG_ENGINE_MODULE } from '../../src/dataplane/wg-engine.js';
import { Client } from '../../src/vclient/client.js';
import { DgramBind } from '../../src/wg/bind-udp.js';
import { genkey, pubkey } from '../../src/wg/crypto.js';
import { WgDevice } from '../../src/wg/device.js';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

interface Peer {
  dev: WgDevice;
  host: Client;
  pub: string;
}

async function peer(serverPub: string, serverPort: number): Promise<Peer> {
  const sk = genkey();
  const bind = await DgramBind.open({ address: '127.0.0.1', port: 0, type: 'udp4' });
  const dev = new WgDevice({ privateKey: sk, bind, peers: [{ publicKey: serverPub, endpoint: `127.0.0.1:${serverPort}`, allowedIps: ['0.0.0.0/0'] }] });
  // Every client has the same inner address: the concentrator keeps them apart.
  const host = new Client({ addr: '10.0.0.2/24', gateway: '10.0.0.1' });
  connectL3(host, dev);
  return { dev, host, pub: pubkey(sk) };
}

/** Dials the echo server through the tunnel, sends `msg` and reads it back. */
async function echo(p: Peer, port: number, msg: string, timeoutMs = 5000): Promise<string> {
  const conn = await p.host.dial('tcp', `10.0.0.1:${port}`, { signal: AbortSignal.timeout(timeoutMs) });
  try {
    conn.write(msg);
    let got = '';
    for await (const chunk of conn) {
      got += (chunk as Buffer).toString('latin1');
      if (got.length >= msg.length) break;
    }
    return got;
  } finally {
    conn.destroy();
  }
}

test.serial('wg engine with nat: peers sharing an inner address each reach a loopback server through their own namespace; unknown keys by allow-list, authorised and revoked at run time', async (t) => {
  const before = await snapshot();
  const server = net.createServer((s) => {
    s.on('error', () => {}); // a client's reset
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const echoPort = (server.address() as AddressInfo).port;
  const dp = startDataplane(t, { workers: 1, modules: [WG_ENGINE_MODULE] });
  const peers: Peer[] = [];
  try {
    const sk = genkey();
    const serverPub = pubkey(sk);
    // The engine needs its port before the clients exist, and the clients' keys before they
    // connect: configure peer A in advance, leave B to the allow-list, C unknown.
    const pre = genkey();
    const wg = await dp.create({
      kind: 'wg',
      options: {
        privateKey: sk,
        listen: '127.0.0.1:0',
        udp: 'dgram',
        aead: 'node',
        nat: { addr: '10.0.0.1/24', hostLoopback: true },
        peers: [{ publicKey: pubkey(pre), allowedIps: ['10.0.0.2/32'] }],
        acceptUnknown: { allowedIps: ['10.0.0.2/32'], keys: [] },
      },
    });
    const port = (await dp.command(wg, 'port')) as number;
    const a = await peer(serverPub, port);
    const b = await peer(serverPub, port);
    const c = await peer(serverPub, port);
    peers.push(a, b, c);
    // A: replace its random key with the preconfigured one by re-adding the configured peer.
    await dp.command(wg, 'removePeer', pubkey(pre));
    await dp.command(wg, 'addPeer', { publicKey: a.pub, allowedIps: ['10.0.0.2/32'] });
    await dp.command(wg, 'authorize', b.pub);

    t.is(await echo(a, echoPort, 'hello from a'), 'hello from a');
    t.is(await echo(b, echoPort, 'hello from b'), 'hello from b', 'an allow-listed unknown key is accepted with the configured allowed IPs');
    await t.throwsAsync(echo(c, echoPort, 'nope', 1500), { any: true, name: 'TimeoutError' }, 'a key not on the list gets no tunnel');

    await dp.command(wg, 'authorize', c.pub);
    c.dev.connect(serverPub); // handshake now rather than at the 5 s retransmit
    t.is(await echo(c, echoPort, 'hello from c'), 'hello from c', 'authorised at run time');

    const stats = (await dp.stats()).workers[0]!.engines.find((e) => e.id === wg.id)!.stats as {
      concentrator: { ports: number; connectErrors: number };
      wg: { peers: unknown[] };
    };
    t.is(stats.concentrator.ports, 3, 'one port (and namespace) per peer');
    t.is(stats.concentrator.connectErrors, 0);
    t.is(stats.wg.peers.length, 3);
    const nat = (await dp.command(wg, 'nat')) as { namespaces: number; counters?: unknown };
    t.is(nat.namespaces, 3, 'three namespaces, the same inner address in each');

    t.true(await dp.command(wg, 'revoke', b.pub), "revoke removes the peer and releases its namespace");
    t.is(((await dp.command(wg, 'nat')) as { namespaces: number }).namespaces, 2);
    await t.throwsAsync(echo(b, echoPort, 'gone', 1500), { any: true, name: 'TimeoutError' }, 'revoked: no tunnel');
    t.is(await echo(a, echoPort, 'a still'), 'a still');

    await t.throwsAsync(dp.create({ kind: 'wg', options: { privateKey: sk, acceptUnknown: { allowedIps: ['10.0.0.2/32'] } } }), { message: /acceptUnknown needs nat/ });
    await t.throwsAsync(dp.command(wg, 'authorize', 'not a key'), { message: /expected a 44-character base64 key/ });
    const h = await dp.create({ kind: 'host', options: { addr: '10.0.9.1' } });
    await t.throwsAsync(dp.link(wg, h), { message: /takes no inner link/ });
  } finally {
    for (const p of peers) {
      p.host.close();
      p.dev.close();
    }
    await dp.close();
    await new Promise((r) => server.close(r));
  }
  await new Promise((r) => setTimeout(r, 20)); // the listening handle's uv_close lands a turn after 'close'
  await assertNoLeak(t, before);
});
