/**
 * A Client behind the slirp Stack (pktkit/slirp), in process, no root: fetch and http.get of a
 * real HTTP server on 127.0.0.1 through the NAT, and a name resolved by the Client's resolver
 * through slirp's DNS forwarding to a real UDP DNS stub on loopback.
 */
import * as dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { Stack } from '../../src/slirp/stack.js';
import { Client } from '../../src/vclient/client.js';
import { VirtualHttpAgent } from '../../src/vclient/http.js';
import { decodeDns, dnsEmitLen, emitDns } from '../../src/wire/dns-codec.js';
import { DnsClass, DnsType } from '../../src/wire/dns.js';

test('fetch and http.get through slirp to a loopback HTTP server; DNS through slirp’s forwarder', async (t) => {
  const server = http.createServer((req, res) => res.end(`real ${req.method} ${req.url} from ${req.socket.remoteAddress}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  // A real DNS server on loopback: www.test -> 127.0.0.1.
  const dnsSock = dgram.createSocket('udp4');
  dnsSock.on('message', (msg, rinfo) => {
    const q = decodeDns(msg);
    const question = q.questions[0]!;
    const m = {
      id: q.id,
      qr: true,
      rd: true,
      ra: true,
      questions: [question],
      answers: question.type === DnsType.A ? [{ name: question.name, type: DnsType.A, class: DnsClass.IN, ttl: 60, data: '127.0.0.1' } as const] : [],
    };
    const out = new Uint8Array(dnsEmitLen(m));
    emitDns(m, out, 0);
    dnsSock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => dnsSock.bind(0, '127.0.0.1', r));
  const dnsPort = dnsSock.address().port;

  const slirp = new Stack({ addr: '10.0.2.2/24', dns: '10.0.2.3', dnsServers: [`127.0.0.1:${dnsPort}`], policy: { allowLoopback: true } });
  const client = new Client({ addr: '10.0.2.15/24', gateway: '10.0.2.2', dns: ['10.0.2.3'] });
  const cleanup = await slirp.connectL3(client);

  const r = await client.fetch(`http://127.0.0.1:${port}/hello`);
  t.is(await r.text(), 'real GET /hello from 127.0.0.1');
  const r2 = await client.fetch(`http://www.test:${port}/named`);
  t.is(await r2.text(), 'real GET /named from 127.0.0.1');
  t.deepEqual(await client.resolver.resolve4('www.test'), ['127.0.0.1']);

  const agent = new VirtualHttpAgent(client);
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/agent', agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      })
      .on('error', reject);
  });
  t.is(body, 'real GET /agent from 127.0.0.1');
  t.true(slirp.stats().dialsOk >= 2);

  // Our side closes first: the agent's keep-alive Conns end, then slirp.close() while the real
  // sockets' shutdowns may still be pending. slirp once leaked such a socket's TCP handle here
  // (and the process never exited); the real server's connections must all go away by themselves.
  agent.destroy();
  await client.dispatcher().close();
  cleanup();
  client.close();
  await slirp.close();
  dnsSock.close();
  const count = (): Promise<number> => new Promise((r) => server.getConnections((_e, n) => r(n)));
  for (let i = 0; i < 100 && (await count()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(await count(), 0, 'slirp closed every real socket');
  await new Promise((r) => server.close(r));
});
