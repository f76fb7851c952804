/**
 * Helpers of the vclient tests: two Clients joined back to back, and a DNS stub served from a
 * Client's UDP socket (answers from a table, with faults to inject: silence, wrong ids).
 */
import type { Clock } from '../../src/core/clock.js';
import { connectL3 } from '../../src/core/connect.js';
import { Client, type ClientOptions } from '../../src/vclient/client.js';
import type { RemoteInfo, UdpSocket } from '../../src/vclient/udp.js';
import { decodeDns, dnsEmitLen, emitDns } from '../../src/wire/dns-codec.js';
import { DnsClass, DnsRcode, DnsType, type DnsMessageInit, type DnsRecord } from '../../src/wire/dns.js';
import { prng } from '../helpers/tcp-sim.js';

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface ClientPair {
  a: Client;
  b: Client;
  close(): void;
}

/** Client a (10.0.0.1/24, fd00::1/64) and b (10.0.0.2/24, fd00::2/64), each one's output the other's input. */
export function clientPair(opts: ClientOptions = {}, clock?: Clock): ClientPair {
  const base = clock === undefined ? opts : { ...opts, clock };
  const a = new Client({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', random: prng(11), dns: ['10.0.0.2'], ...base });
  const b = new Client({ addr: '10.0.0.2/24', addr6: 'fd00::2/64', random: prng(12), ...base });
  connectL3(a, b);
  return {
    a,
    b,
    close() {
      // Unplug first: the RSTs each close sends would otherwise reset the other's connections.
      a.setHandler(() => {});
      b.setHandler(() => {});
      a.close();
      b.close();
    },
  };
}

/** What the stub knows: per lower-case name, addresses and/or a CNAME target. */
export interface Zone {
  [name: string]: { a?: string[]; aaaa?: string[]; cname?: string; ttl?: number };
}

export interface DnsStub {
  sock: UdpSocket;
  /** Queries seen (name, type). */
  queries: { name: string; type: number; id: number }[];
  /** Drop the next n queries without answering. */
  dropNext: number;
  /** Answer the next n queries first with a wrong id (then with the right one). */
  wrongIdNext: number;
  /** Answer the next n queries with a different question name only. */
  wrongQuestionNext: number;
}

/** A DNS server on `server`'s UDP port 53 answering from `zone` (CNAME chains in one answer, NXDOMAIN with an SOA). */
export function dnsStub(server: Client, zone: Zone): DnsStub {
  const sock = server.udp();
  sock.bind(53);
  const stub: DnsStub = { sock, queries: [], dropNext: 0, wrongIdNext: 0, wrongQuestionNext: 0 };
  sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const q = decodeDns(msg);
    const question = q.questions[0]!;
    stub.queries.push({ name: question.name, type: question.type, id: q.id });
    if (stub.dropNext > 0) {
      stub.dropNext--;
      return;
    }
    const answers: DnsRecord[] = [];
    let name = question.name.toLowerCase();
    let rcode: number = DnsRcode.NoError;
    for (let hops = 0; hops < 10; hops++) {
      const e = zone[name];
      if (e === undefined) {
        if (hops === 0) rcode = DnsRcode.NXDomain;
        break;
      }
      if (e.cname !== undefined) {
        answers.push({ name, type: DnsType.CNAME, class: DnsClass.IN, ttl: e.ttl ?? 300, data: e.cname });
        name = e.cname;
        continue;
      }
      const list = question.type === DnsType.A ? e.a : question.type === DnsType.AAAA ? e.aaaa : undefined;
      for (const d of list ?? []) answers.push({ name, type: question.type, class: DnsClass.IN, ttl: e.ttl ?? 300, data: d } as DnsRecord);
      break;
    }
    const reply = (id: number, qname: string): void => {
      const m: DnsMessageInit = {
        id,
        qr: true,
        rd: true,
        ra: true,
        rcode,
        questions: [{ name: qname, type: question.type, class: question.class }],
        answers,
        authorities:
          rcode === DnsRcode.NXDomain || answers.length === 0
            ? [{ name: 'test', type: DnsType.SOA, class: DnsClass.IN, ttl: 60, data: { mname: 'ns.test', rname: 'admin.test', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 30 } }]
            : [],
      };
      const out = new Uint8Array(dnsEmitLen(m));
      emitDns(m, out, 0);
      sock.send(out, rinfo.port, rinfo.address);
    };
    if (stub.wrongIdNext > 0) {
      stub.wrongIdNext--;
      reply((q.id + 1) & 0xffff, question.name);
    }
    if (stub.wrongQuestionNext > 0) {
      stub.wrongQuestionNext--;
      reply(q.id, 'evil.example');
    }
    reply(q.id, question.name);
  });
  return stub;
}
