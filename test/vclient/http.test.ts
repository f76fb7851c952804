/**
 * HTTP and TLS over the virtual network, real time: a node:http server fed with the Conns of one
 * Client's listener (`server.emit('connection', conn)`), fetched from the other Client with the
 * undici Dispatcher / fetch and with http.get through VirtualHttpAgent; TLS with a fixed
 * self-signed certificate (test/vectors/tls-test-cert.ts): tls.connect over a Conn, https fetch
 * and https.get through VirtualHttpsAgent, names resolved by a DNS stub on the server Client.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import test from 'ava';
import { createDispatcher, createFetch, VirtualHttpAgent, VirtualHttpsAgent } from '../../src/vclient/http.js';
import type { Client } from '../../src/vclient/client.js';
import type { Conn } from '../../src/vtcp/conn.js';
import { TLS_TEST_CERT, TLS_TEST_KEY } from '../vectors/tls-test-cert.js';
import { clientPair, dnsStub } from './helpers.js';

const handler: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.setHeader('content-type', 'text/plain');
    res.setHeader('x-remote', `${req.socket.remoteAddress}`);
    res.end(`${req.method} ${req.url} ${body.length === 0 ? '' : body.toString()}`.trim());
  });
};

/** Serves `server` (http or https) on `client`'s TCP `port`. */
function serveOn(client: Client, port: number, server: http.Server | https.Server | tls.Server): () => void {
  const lis = client.listen(port);
  lis.on('connection', (c: Conn) => server.emit('connection', c));
  return () => {
    lis.close();
    server.close();
  };
}

function setup() {
  const pair = clientPair();
  dnsStub(pair.b, { 'web.test': { a: ['10.0.0.2'] }, 'test.local': { a: ['10.0.0.2'], aaaa: ['fd00::2'] } });
  const stopHttp = serveOn(pair.b, 8080, http.createServer(handler));
  const stopHttps = serveOn(pair.b, 443, https.createServer({ key: TLS_TEST_KEY, cert: TLS_TEST_CERT }, handler));
  return {
    ...pair,
    close() {
      stopHttp();
      stopHttps();
      pair.close();
    },
  };
}

test('fetch through the undici Dispatcher: GET, POST, keep-alive, names, IPv6', async (t) => {
  const { a, b, close } = setup();
  const r1 = await a.fetch('http://10.0.0.2:8080/hello');
  t.is(r1.status, 200);
  t.is(await r1.text(), 'GET /hello');
  t.is(r1.headers.get('x-remote'), '10.0.0.1');
  const r2 = await a.fetch('http://10.0.0.2:8080/echo', { method: 'POST', body: 'x'.repeat(100_000) });
  t.is(await r2.text(), `POST /echo ${'x'.repeat(100_000)}`);
  const syns = (): number => b.stats().tcp.listenersStats[8080]!.syns;
  const before = syns();
  for (let i = 0; i < 5; i++) {
    t.is(await (await a.fetch(`http://10.0.0.2:8080/again${i}`)).text(), `GET /again${i}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  t.true(syns() - before <= 1, `5 requests took ${syns() - before} new connections (kept alive and reused)`);
  const r3 = await a.fetch('http://web.test:8080/named');
  t.is(await r3.text(), 'GET /named');
  const r4 = await a.fetch('http://[fd00::2]:8080/six');
  t.is(await r4.text(), 'GET /six');
  t.is(r4.headers.get('x-remote'), 'fd00::1');
  // A separate dispatcher and fetch made by hand.
  const d = createDispatcher(a);
  const f = createFetch(a, d);
  t.is(await (await f('http://10.0.0.2:8080/own')).text(), 'GET /own');
  await d.close();
  await t.throwsAsync(a.fetch('http://10.0.0.2:8081/'), { message: /fetch failed/ });
  close();
});

test('http.get with the VirtualHttpAgent', async (t) => {
  const { a, close } = setup();
  const agent = new VirtualHttpAgent(a, { keepAlive: true });
  const get = (path: string, host = '10.0.0.2'): Promise<string> =>
    new Promise((resolve, reject) => {
      http
        .get({ host, port: 8080, path, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve(Buffer.concat(chunks).toString()));
        })
        .on('error', reject);
    });
  t.is(await get('/a'), 'GET /a');
  t.is(await get('/b', 'web.test'), 'GET /b');
  t.is(await get('/c', 'fd00::2'), 'GET /c');
  agent.destroy();
  close();
});

test('TLS over a Conn: tls.connect({ socket }) to a tls.Server fed with the listener’s Conns', async (t) => {
  const { a, b, close } = clientPair();
  const server = tls.createServer({ key: TLS_TEST_KEY, cert: TLS_TEST_CERT }, (s) => s.pipe(s));
  const stop = serveOn(b, 7443, server);
  const conn = await a.dial('tcp', '10.0.0.2:7443');
  const s = tls.connect({ socket: conn, servername: 'test.local', ca: TLS_TEST_CERT });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', resolve);
    s.once('error', reject);
  });
  t.true(s.authorized);
  t.is(s.getProtocol(), 'TLSv1.3');
  const payload = Buffer.alloc(200_000, 'tls ');
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  s.write(payload);
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (Buffer.concat(got).length >= payload.length) resolve();
      else setTimeout(check, 5);
    };
    check();
  });
  t.true(Buffer.concat(got).equals(payload));
  // A wrong name fails verification.
  const conn2 = await a.dial('tcp', '10.0.0.2:7443');
  const bad = tls.connect({ socket: conn2, servername: 'other.local', ca: TLS_TEST_CERT });
  await t.throwsAsync(new Promise((resolve, reject) => {
    bad.once('secureConnect', resolve);
    bad.once('error', reject);
  }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  s.destroy();
  stop();
  close();
});

test('https: fetch with a Dispatcher trusting the test CA, and https.get with VirtualHttpsAgent', async (t) => {
  const { a, close } = setup();
  const d = createDispatcher(a, { tls: { ca: TLS_TEST_CERT } });
  const f = createFetch(a, d);
  const r = await f('https://test.local/secure');
  t.is(await r.text(), 'GET /secure');
  await t.throwsAsync(a.fetch('https://test.local/untrusted'), { message: /fetch failed/ });
  await d.close();
  const agent = new VirtualHttpsAgent(a, { ca: TLS_TEST_CERT });
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get({ host: 'test.local', port: 443, path: '/agent', agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      })
      .on('error', reject);
  });
  t.is(body, 'GET /agent');
  agent.destroy();
  close();
});
