/**
 * The README's examples (examples/*.ts) and the demo (`npm start`) run and say what they should.
 * The examples import `pktkit` through its package exports, so this also checks the exports map
 * against the built dist/.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readPcapng } from '../helpers/pcap-reader.js';

const run = promisify(execFile);
const built = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

async function runNode(file: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(process.execPath, [file, ...args], { timeout: 30_000 });
  return stdout;
}

test('examples/switch: flood, then unicast once learned', async (t) => {
  const out = await runNode(built('examples/switch.js'));
  t.deepEqual(out.trim().split('\n'), ['b got 60 bytes', 'c got 60 bytes', 'a got 60 bytes', '02:00:00:00:00:01 is on port 0; 2 MACs learned']);
});

test('examples/routing: point to point, host route, explicit route, default route', async (t) => {
  const out = await runNode(built('examples/routing.js'));
  t.deepEqual(out.trim().split('\n'), [
    'tun2 got 10.0.0.1 -> 10.0.0.2',
    'peer got 10.0.0.1 -> 10.0.0.2',
    'gw got 10.0.0.1 -> 192.168.50.7',
    'gw got 10.0.0.1 -> 8.8.8.8',
  ]);
});

test('examples/parse: a UDP datagram, then a truncated one', async (t) => {
  const out = await runNode(built('examples/parse.js'));
  t.deepEqual(out.trim().split('\n'), ['192.168.1.10:40000 -> 192.168.1.1:53, 5 bytes', 'dropped: malformed IP']);
});

test('examples/capture: a hub port and a tapped device in one pcapng', async (t) => {
  const out = await runNode(built('examples/capture.js'));
  const m = /^2 packets on 2 interfaces, 0 dropped: (.+)$/.exec(out.trim());
  t.truthy(m, out);
  const file = await readFile(m![1]!);
  const contents = readPcapng(file);
  t.is(contents.interfaces.length, 2);
  t.is(contents.packets.length, 2);
  await rm(m![1]!);
});

test('examples/dataplane: engines on two workers, a direct link and a ring link', async (t) => {
  const out = await runNode(built('examples/dataplane.js'));
  t.deepEqual(out.trim().split('\n'), ['links: direct, ring', 'b received 1000 frames; the ring carried 1000 of them to worker 1']);
});

test('the demo (npm start): a DHCP lease and a page fetched through the slirp NAT, then its switching topology on two port workers with captures tshark can read', async (t) => {
  const prefix = join(tmpdir(), `pktkit-demo-test-${process.pid}`);
  const out = await runNode(built('src/cli/demo.js'), ['--out', prefix]);
  // Part 1: the virtual LAN with DHCP and NAT, across two workers.
  t.regex(out, /alpha leased 10\.0\.0\.1\d\d\/24 by DHCP, gateway 10\.0\.0\.1/);
  t.regex(out, /alpha GET http:\/\/10\.0\.0\.1:\d+\/index\.txt: 200 "hello from 127\.0\.0\.1 on the host: you asked for \/index\.txt"/);
  t.regex(out, /dhcp server leases: \[\{"mac":"[0-9a-f:]{17}","addr":"10\.0\.0\.1\d\d","hostname":"alpha"\}\]/);
  // Part 2.
  t.regex(out, /segment-a and segment-b are joined by a ring link/);
  t.regex(out, /alice:\n {4}ARP reply: 10\.0\.0\.3 is at 02:00:00:00:00:0c/);
  t.regex(out, /bob:\n {4}ARP request for 10\.0\.0\.3 \(not mine\)\n/);
  t.regex(out, /carol:\n {4}ARP request from 02:00:00:00:00:0a: who has 10\.0\.0\.3\? \(answering\)\n {4}UDP from 10\.0\.0\.1: "hello carol"/);
  t.regex(out, /dropped truncated=1/);
  t.regex(out, /peer +10\.0\.0\.1 -> 10\.0\.0\.2/);
  t.regex(out, /lan +fd00::2 -> fd00::1/);
  t.regex(out, /gateway +10\.0\.0\.1 -> 192\.0\.2\.7, fd00::2 -> 2001:db8::1/);
  t.regex(out, /dropped bad-version=1/);
  t.regex(out, /l2hub-1 -> l2hub-2: 2 frames; l2hub-2 -> l2hub-1: 1 frames/);
  t.notRegex(out, /failed/);
  const a = readPcapng(await readFile(`${prefix}-segment-a.pcapng`));
  t.is(a.interfaces.length, 3);
  t.is(a.packets.length, 8, 'ARP request in and flooded out twice, reply in and out, UDP in and out, the runt in');
  const r = readPcapng(await readFile(`${prefix}-router.pcapng`));
  t.is(r.interfaces.length, 4);
  t.is(r.packets.length, 9);
  await rm(`${prefix}-segment-a.pcapng`);
  await rm(`${prefix}-router.pcapng`);
});

test('examples/udp-echo: a burst echoed through batched UDP, none lost', async (t) => {
  const out = (await runNode(built('examples/udp-echo.js'))).trim().split('\n');
  t.regex(out[0]!, /^server 127\.0\.0\.1:\d+ echoed 256; client got 256 back, the last "ping 255"$/);
  // 256 datagrams from the client: 64 per sendmmsg at most, so four system calls.
  t.is(out[1], 'client sent 256 datagrams in 4 system calls');
});

test('examples/aead: a batch sealed and opened in place, the damaged slot flagged and the rest intact', async (t) => {
  const out = (await runNode(built('examples/aead.js'))).trim().split('\n');
  t.regex(out[0]!, /^chacha20-poly1305 \((native addon|node:crypto)\): 64 slots, 1 failed$/);
  t.is(out[1], 'slot 7: tag mismatch, zeroed; slot 8 byte 0 = 8');
});

test('examples/dhcp-lan: two hosts lease addresses from the DHCP server, resolve each other by ARP, exchange a packet', async (t) => {
  const out = (await runNode(built('examples/dhcp-lan.js'))).trim().split('\n');
  t.deepEqual(out, [
    'alpha leased 10.0.0.100/24, gateway 10.0.0.1, DNS 10.0.0.1',
    'beta leased 10.0.0.101/24',
    'beta got a 28-byte packet from 10.0.0.100',
    'server: 2 leases; alpha knows 10.0.0.101 (REACHABLE)',
  ]);
});

test('examples/wg-pair: a packet crosses two WireGuard devices on loopback after their handshake', async (t) => {
  const out = (await runNode(built('examples/wg-pair.js'))).trim().split('\n');
  t.is(out[0], 'b got 28 bytes from 10.9.0.1');
  t.regex(out[1]!, /^a: handshake done, endpoint 127\.0\.0\.1:\d+, tx > 0 bytes$/);
});

test('examples/wg-uapi: a set adds a peer, a bad one is refused, a get reads the peer back', async (t) => {
  const out = (await runNode(built('examples/wg-uapi.js'))).trim().split('\n');
  t.deepEqual(out, ['errno=0', 'errno=-22 (refused: nothing changed)', 'get: listen_port is ours, 1 peer, endpoint 192.0.2.7:51820, allowed 10.9.0.2/32']);
});

test('examples/wg-concentrator: two WireGuard clients with the same inner address fetch a loopback page through a concentrator on a worker', async (t) => {
  const out = (await runNode(built('examples/wg-concentrator.js'))).trim().split('\n');
  t.deepEqual(out, ['client 1 (10.0.0.2): 200 hello 127.0.0.1', 'client 2 (10.0.0.2): 200 hello 127.0.0.1', 'concentrator: 2 namespaces, one per peer']);
});

test('examples/vtcp-echo: two userspace TCP stacks, 1 MiB echoed byte-exact', async (t) => {
  const out = (await runNode(built('examples/vtcp-echo.js'))).trim().split('\n');
  t.regex(out[0]!, /^connected 10\.1\.0\.1:\d+ -> 10\.1\.0\.2:7$/);
  t.is(out[1], 'echoed 1048576 bytes, identical');
});
