/**
 * slirp's DNS forwarder (dns.ts) against stub resolvers on loopback: failover past a silent
 * server (on an injected clock: the timeouts are clock.advance calls), the timed-out server
 * demoted for the next query, replies with a wrong id or question and replies from another
 * address dropped and counted, every server silent (the virtual host gets nothing; the counters
 * say why), the pending table's bound and duplicates, IPv6 servers with ports; and the question
 * parser under fast-check (never out of bounds, linear).
 */
import test from 'ava';
import fc from 'fast-check';
import * as dgram from 'node:dgram';
import { ManualClock } from '../../src/core/clock.js';
import { questionEnd } from '../../src/slirp/dns.js';
import { Stack } from '../../src/slirp/stack.js';
import { readUdp, udp4, udp6 } from './packets.js';
import { until, vhost } from './helpers.js';

/** id 0xabcd, RD, one question: www.example.com A IN (RFC 1035 §4.1). */
const QUERY = Buffer.from('abcd0100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex');

type Behaviour = 'answer' | 'silent' | 'wrongId' | 'wrongQuestion' | 'otherSource';

interface Stub {
  sock: dgram.Socket;
  port: number;
  queries: Buffer[];
  close(): void;
}

/** A DNS stub on loopback: answers by flipping QR (and adding a marker byte), or misbehaves. */
async function stub(behaviour: Behaviour, family: 4 | 6 = 4, marker = 0x41): Promise<Stub> {
  const sock = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
  const other = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
  const queries: Buffer[] = [];
  sock.on('message', (q, r) => {
    queries.push(q);
    if (behaviour === 'silent') return;
    const a = Buffer.concat([q, Buffer.from([marker])]);
    a[2] = a[2]! | 0x80;
    if (behaviour === 'wrongId') a[0] = a[0]! ^ 0xff;
    if (behaviour === 'wrongQuestion') a[14] = 0x78; // www -> wxw
    (behaviour === 'otherSource' ? other : sock).send(a, r.port, r.address);
  });
  const host = family === 4 ? '127.0.0.1' : '::1';
  await new Promise<void>((r) => sock.bind(0, host, r));
  return {
    sock,
    port: sock.address().port,
    queries,
    close: () => {
      sock.close();
      try {
        other.close();
      } catch {
        // never bound
      }
    },
  };
}

function answers(got: Uint8Array[]): NonNullable<ReturnType<typeof readUdp>>[] {
  return got.map(readUdp).filter((x): x is NonNullable<ReturnType<typeof readUdp>> => x !== null && x.sport === 53);
}

test('failover: the first server is silent, the second answers after one timeout; the first is then demoted and skipped', async (t) => {
  const a = await stub('silent');
  const b = await stub('answer');
  const clock = new ManualClock(0);
  const slirp = new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', clock, dnsServers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], dnsTimeoutMs: 500 });
  const h = vhost(slirp, false);
  h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, QUERY));
  t.true(await until(() => a.queries.length === 1));
  t.is(b.queries.length, 0);
  clock.advance(499);
  t.is(slirp.stats().dnsRetries, 0, 'not before the timeout');
  clock.advance(1);
  t.true(await until(() => answers(h.got).length === 1));
  t.true(b.queries[0]!.equals(QUERY), 'the same query, id and all');
  const r = answers(h.got)[0]!;
  t.is(r.dport, 40000);
  t.deepEqual([...h.got.at(-1)!.subarray(12, 16)], [10, 0, 0, 3], 'from the virtual resolver');
  t.is(r.data.readUInt16BE(0), 0xabcd);
  let st = slirp.stats();
  t.like(st, { dnsQueries: 1, dnsRetries: 1, dnsServerTimeouts: 1, dnsAnswers: 1, dnsFailed: 0, dnsPending: 0, dnsServersDemoted: 1 });
  // The next query goes to the second server straight away: no timeout to wait for.
  const q2 = Buffer.from(QUERY);
  q2[0] = 0x12;
  h.inject(udp4('10.0.0.2', 40001, '10.0.0.3', 53, q2));
  t.true(await until(() => answers(h.got).length === 2));
  t.is(a.queries.length, 1, 'the demoted server is not asked');
  // Demotion ends after dnsDemoteMs (default 30 s).
  clock.advance(30_000);
  st = slirp.stats();
  t.is(st.dnsServersDemoted, 0);
  t.is(st.udpFlows, 0, 'DNS makes no UDP flows');
  await slirp.close();
  t.is(clock.pending, 0, 'no timer left');
  a.close();
  b.close();
});

for (const bad of ['wrongId', 'wrongQuestion'] as const) {
  test(`a reply with a ${bad === 'wrongId' ? 'wrong transaction id' : 'different question'} is dropped and counted; the next server's answer is relayed`, async (t) => {
    const a = await stub(bad);
    const b = await stub('answer');
    const clock = new ManualClock(0);
    const slirp = new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', clock, dnsServers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] });
    const h = vhost(slirp, false);
    h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, QUERY));
    t.true(await until(() => slirp.stats().drops.dnsBadReply === 1));
    t.is(answers(h.got).length, 0, 'nothing relayed');
    clock.advance(2000); // the default dnsTimeoutMs
    t.true(await until(() => answers(h.got).length === 1));
    t.is(slirp.stats().dnsAnswers, 1);
    await slirp.close();
    a.close();
    b.close();
  });
}

test('a reply from another address than the server asked is dropped (dnsWrongServer)', async (t) => {
  const a = await stub('otherSource');
  const slirp = new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', dnsServers: [`127.0.0.1:${a.port}`], dnsTimeoutMs: 5000 });
  const h = vhost(slirp, false);
  h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, QUERY));
  t.true(await until(() => slirp.stats().drops.dnsWrongServer === 1));
  t.is(answers(h.got).length, 0);
  await slirp.close();
  a.close();
});

test('every server silent: dnsAttempts sends, then the query is given up; the virtual host gets nothing and the counters say why', async (t) => {
  const a = await stub('silent');
  const b = await stub('silent');
  const clock = new ManualClock(0);
  const slirp = new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', clock, dnsServers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], dnsTimeoutMs: 100, dnsAttempts: 3 });
  const h = vhost(slirp, false);
  h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, QUERY));
  t.true(await until(() => a.queries.length === 1));
  clock.advance(100);
  t.true(await until(() => b.queries.length === 1));
  clock.advance(100);
  t.true(await until(() => a.queries.length === 2), 'the third attempt goes round to the first server');
  clock.advance(100);
  const st = slirp.stats();
  t.like(st, { dnsQueries: 1, dnsRetries: 2, dnsServerTimeouts: 3, dnsFailed: 1, dnsAnswers: 0, dnsPending: 0, dnsServersDemoted: 2 });
  t.is(h.got.length, 0, 'no answer, no ICMP');
  await slirp.close();
  a.close();
  b.close();
});

test('the pending table is bounded (dnsPendingFull) and a retransmitted query starts nothing new (dnsDuplicate)', async (t) => {
  const a = await stub('silent');
  const clock = new ManualClock(0);
  const slirp = new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', clock, dnsServers: [`127.0.0.1:${a.port}`], dnsMaxPending: 2 });
  const h = vhost(slirp, false);
  h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, QUERY));
  h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, QUERY));
  const q2 = Buffer.from(QUERY);
  q2[1] = 0x01;
  h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, q2));
  const q3 = Buffer.from(QUERY);
  q3[1] = 0x02;
  h.inject(udp4('10.0.0.2', 40000, '10.0.0.3', 53, q3));
  const st = slirp.stats();
  t.is(st.dnsPending, 2);
  t.is(st.drops.dnsDuplicate, 1);
  t.is(st.drops.dnsPendingFull, 1);
  // Not a query (QR set), or no question: never forwarded.
  const notQuery = Buffer.from(QUERY);
  notQuery[2] = 0x81;
  h.inject(udp4('10.0.0.2', 40001, '10.0.0.3', 53, notQuery));
  h.inject(udp4('10.0.0.2', 40001, '10.0.0.3', 53, QUERY.subarray(0, 12)));
  t.is(slirp.stats().drops.dnsBadQuery, 2);
  await slirp.close();
  t.is(slirp.stats().dnsPending, 0);
  a.close();
});

test('IPv6: a query to the virtual resolver dns6 goes to an IPv6 server given with a port ([::1]:port)', async (t) => {
  const a = await stub('answer', 6);
  const slirp = new Stack({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', dns6: 'fd00::3', dnsServers: [`[::1]:${a.port}`] });
  const h = vhost(slirp, false);
  h.inject(udp6('fd00::2', 40000, 'fd00::3', 53, QUERY));
  t.true(await until(() => answers(h.got).length === 1));
  const r = answers(h.got)[0]!;
  t.is(r.family, 6);
  t.is(r.dport, 40000);
  t.is(r.data.at(-1), 0x41);
  await slirp.close();
  a.close();
});

test('dnsServers: malformed entries and options out of range are config errors', (t) => {
  t.throws(() => new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', dnsServers: ['resolver.example'] }), { code: 'ERR_PKT_CONFIG' });
  t.throws(() => new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', dnsServers: ['127.0.0.1:99999'] }));
  t.throws(() => new Stack({ addr: '10.0.0.1/24', dns: '10.0.0.3', dnsServers: ['127.0.0.1'], dnsTimeoutMs: 0 }));
});

test('questionEnd: never reads out of bounds, -1 or an end within the message, for any bytes', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(40), (b, off) => {
      const o = Math.min(off, b.length);
      const e = questionEnd(b, o, b.length);
      return e === -1 || (e >= o + 17 && e <= b.length);
    }),
    { numRuns: 2000 },
  );
  t.is(questionEnd(QUERY, 0, QUERY.length), QUERY.length);
  // A compression pointer in a question, two questions: refused.
  const ptr = Buffer.from(QUERY);
  ptr[12] = 0xc0;
  t.is(questionEnd(ptr, 0, ptr.length), -1);
  const two = Buffer.from(QUERY);
  two[5] = 2;
  t.is(questionEnd(two, 0, two.length), -1);
});

test('questionEnd is linear: a 64 KiB run of one-byte labels is walked in well under a millisecond per KiB', (t) => {
  const b = new Uint8Array(65_536);
  b[5] = 1; // QDCOUNT 1
  for (let i = 12; i < b.length - 1; i += 2) b[i] = 1;
  const t0 = performance.now();
  for (let k = 0; k < 100; k++) t.is(questionEnd(b, 0, b.length), -1); // longer than 255: refused early
  t.true(performance.now() - t0 < 200);
});
