/**
 * The vclient resolver against a DNS stub on a second Client's UDP port 53, ManualClock time:
 * A, AAAA, CNAME chains, NXDOMAIN, answers with a wrong id or question ignored and counted,
 * timeouts with exponential retries, the cache (TTL, negative entries, bound), shared queries,
 * abort, and close leaving no timer.
 */
import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { Client } from '../../src/vclient/client.js';
import { DnsError } from '../../src/vclient/dns.js';
import { DnsType } from '../../src/wire/dns.js';
import { pumpFor } from '../vtcp/stack/helpers.js';
import { clientPair, dnsStub, type Zone } from './helpers.js';

const zone: Zone = {
  'host.test': { a: ['10.9.0.1', '10.9.0.2'], aaaa: ['fd00:9::1'], ttl: 300 },
  'www.test': { cname: 'cdn.test', ttl: 600 },
  'cdn.test': { cname: 'edge.test', ttl: 120 },
  'edge.test': { a: ['10.9.0.7'], aaaa: ['fd00:9::7'], ttl: 200 },
  'v4only.test': { a: ['10.9.0.3'] },
};

function setup(opts: ConstructorParameters<typeof Client>[0] = {}) {
  const clock = new ManualClock(1000);
  const pair = clientPair(opts, clock);
  const stub = dnsStub(pair.b, zone);
  return { clock, ...pair, stub };
}

test('A and AAAA records; lookupAll gives IPv4 first, then IPv6', async (t) => {
  const { clock, a, stub, close } = setup();
  t.deepEqual(await pumpFor(clock, a.resolver.resolve4('host.test')), ['10.9.0.1', '10.9.0.2']);
  t.deepEqual(await pumpFor(clock, a.resolver.resolve6('host.test')), ['fd00:9::1']);
  a.resolver.clearCache();
  const all = await pumpFor(clock, a.resolver.lookupAll('host.test'));
  t.deepEqual(all, [
    { address: '10.9.0.1', family: 4 },
    { address: '10.9.0.2', family: 4 },
    { address: 'fd00:9::1', family: 6 },
  ]);
  t.deepEqual(await pumpFor(clock, a.resolver.lookup('host.test', { family: 6 })), { address: 'fd00:9::1', family: 6 });
  t.deepEqual(await pumpFor(clock, a.resolver.lookup('host.test', 4)), { address: '10.9.0.1', family: 4 });
  t.is(stub.queries.filter((q) => q.type === DnsType.A).length, 2);
  // A literal never reaches the server.
  t.deepEqual(await a.resolver.lookup('10.1.2.3'), { address: '10.1.2.3', family: 4 });
  t.deepEqual(await a.resolver.lookup('[fd00::5]'), { address: 'fd00::5', family: 6 });
  close();
});

test('a CNAME chain inside the answer is followed, names compared case-insensitively', async (t) => {
  const { clock, a, close } = setup();
  t.deepEqual(await pumpFor(clock, a.resolver.resolve4('WWW.Test')), ['10.9.0.7']);
  t.deepEqual(await pumpFor(clock, a.resolver.resolve6('www.test.')), ['fd00:9::7']);
  close();
});

test('NXDOMAIN is ENOTFOUND, cached for the SOA minimum; no record of the type is ENODATA', async (t) => {
  const { clock, a, stub, close } = setup();
  const e1 = await t.throwsAsync(pumpFor(clock, a.resolver.resolve4('nope.test')), { instanceOf: DnsError });
  t.is(e1.code, 'ENOTFOUND');
  t.is(e1.syscall, 'queryA');
  t.is(e1.hostname, 'nope.test');
  const e2 = await t.throwsAsync(pumpFor(clock, a.resolver.lookup('nope.test', { family: 4 })), { instanceOf: DnsError });
  t.is(e2.code, 'ENOTFOUND');
  t.is(e2.syscall, 'getaddrinfo');
  t.is(stub.queries.length, 1, 'the negative answer came from the cache');
  clock.advance(31_000);
  await t.throwsAsync(pumpFor(clock, a.resolver.resolve4('nope.test')), { code: 'ENOTFOUND' });
  t.is(stub.queries.length, 2, 'expired after the SOA minimum (30 s)');
  const e3 = await t.throwsAsync(pumpFor(clock, a.resolver.resolve6('v4only.test')), { instanceOf: DnsError });
  t.is(e3.code, 'ENODATA');
  // lookup of both families: one has addresses, so no error.
  t.deepEqual(await pumpFor(clock, a.resolver.lookupAll('v4only.test')), [{ address: '10.9.0.3', family: 4 }]);
  close();
});

test('an answer with a wrong id or question is dropped and counted; the right one is taken', async (t) => {
  const { clock, a, stub, close } = setup();
  stub.wrongIdNext = 1;
  t.deepEqual(await pumpFor(clock, a.resolver.resolve4('host.test')), ['10.9.0.1', '10.9.0.2']);
  t.is(a.resolver.stats().mismatched, 1);
  stub.wrongQuestionNext = 1;
  t.deepEqual(await pumpFor(clock, a.resolver.resolve6('host.test')), ['fd00:9::1']);
  t.is(a.resolver.stats().mismatched, 2);
  close();
});

test('an answer from a host that is not a configured server is dropped', async (t) => {
  const clock = new ManualClock(1000);
  const { a, b, close } = clientPair({ dns: ['10.0.0.2'] }, clock);
  // The "server" answers from port 5353: not the port the query went to.
  const sock = b.udp().bind(53);
  const liar = b.udp().bind(5353);
  let answered = 0;
  sock.on('message', (m: Buffer, r) => {
    answered++;
    const reply = Buffer.from(m);
    reply[2] = reply[2]! | 0x80; // QR
    liar.send(reply, r.port, r.address);
  });
  const p = a.resolver.resolve4('host.test');
  await t.throwsAsync(pumpFor(clock, p), { code: 'ETIMEOUT' });
  t.is(answered, 3);
  t.is(a.resolver.stats().mismatched, 3);
  close();
});

test('timeouts retry with doubling timeouts (1 s, 2 s, 4 s), then ETIMEOUT', async (t) => {
  const { clock, a, stub, close } = setup();
  stub.dropNext = 2;
  const start = clock.now();
  t.deepEqual(await pumpFor(clock, a.resolver.resolve4('host.test')), ['10.9.0.1', '10.9.0.2']);
  const took = clock.now() - start;
  t.true(took >= 3000 && took < 3100, `answered after ${took} ms`);
  t.is(a.resolver.stats().retries, 2);
  t.is(stub.queries.length, 3);
  t.is(new Set(stub.queries.map((q) => q.id)).size, 1, 'a retry keeps the id');
  stub.dropNext = 100;
  const s2 = clock.now();
  const e = await t.throwsAsync(pumpFor(clock, a.resolver.resolve4('other.test')), { instanceOf: DnsError });
  t.is(e.code, 'ETIMEOUT');
  const took2 = clock.now() - s2;
  t.true(took2 >= 7000 && took2 < 7100, `gave up after ${took2} ms`);
  t.is(clock.pending, 0);
  close();
});

test('retries go round the servers', async (t) => {
  const clock = new ManualClock(1000);
  const { a, b, close } = clientPair({ dns: ['10.0.0.99', '10.0.0.2'] }, clock);
  dnsStub(b, zone);
  t.deepEqual(await pumpFor(clock, a.resolver.resolve4('edge.test')), ['10.9.0.7']);
  t.is(a.resolver.stats().retries, 1);
  t.is(a.stats().drops.noHandler, 0);
  close();
});

test('the cache keeps answers for the smallest TTL of the chain and is bounded', async (t) => {
  const { clock, a, stub, close } = setup({ resolver: { cacheSize: 2 } });
  await pumpFor(clock, a.resolver.resolve4('www.test'));
  await pumpFor(clock, a.resolver.resolve4('www.test'));
  t.is(stub.queries.length, 1);
  t.is(a.resolver.stats().cacheHits, 1);
  clock.advance(121_000); // the chain's smallest TTL is cdn.test's 120 s
  await pumpFor(clock, a.resolver.resolve4('www.test'));
  t.is(stub.queries.length, 2);
  await pumpFor(clock, a.resolver.resolve4('host.test'));
  await pumpFor(clock, a.resolver.resolve4('edge.test'));
  t.is(a.resolver.cacheEntries, 2);
  close();
});

test('concurrent queries for one name share one exchange; abort rejects only the caller', async (t) => {
  const { clock, a, stub, close } = setup();
  stub.dropNext = 1;
  const ac = new AbortController();
  const p1 = a.resolver.resolve4('host.test');
  const p2 = a.resolver.resolve4('host.test', { signal: ac.signal });
  ac.abort(new Error('stop'));
  await t.throwsAsync(p2, { message: 'stop' });
  t.deepEqual(await pumpFor(clock, p1), ['10.9.0.1', '10.9.0.2']);
  t.is(a.resolver.stats().queries, 1);
  close();
});

test('close cancels queries in flight and leaves no timer or socket', async (t) => {
  const { clock, a, stub, close } = setup();
  stub.dropNext = 10;
  const p = a.resolver.resolve4('host.test');
  await pumpFor(clock, new Promise((r) => setImmediate(r)));
  t.is(a.stats().udpSockets, 1);
  close();
  await t.throwsAsync(p, { code: 'ECANCELLED' });
  t.is(a.stats().udpSockets, 0);
  t.is(clock.pending, 0);
});

test('no DNS server: ECONNREFUSED; a name with no local address family still resolves', async (t) => {
  const c = new Client({ addr: '10.0.0.5/24' });
  await t.throwsAsync(c.resolver.resolve4('x.test'), { code: 'ECONNREFUSED' });
  c.close();
});
