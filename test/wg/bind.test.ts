import test from 'ava';
import { hasNative } from '../../src/native/index.js';
import { UdpSocket } from '../../src/udp/socket.js';
import { ENDPOINT_WORDS, MemoryLink, endpointBytes, formatEndpoint, parseEndpoint, type WgBind } from '../../src/wg/bind.js';
import { BatchedUdpBind, DgramBind } from '../../src/wg/bind-udp.js';
import { keyPairFromPrivate } from '../../src/wg/crypto.js';
import { WgDevice } from '../../src/wg/device.js';
import { toHex } from '../../src/wire/bytes.js';
import { ping } from './device-helpers.js';

test('endpoint records: parse, format, cookie bytes; malformed ones are typed errors', (t) => {
  const r = parseEndpoint('10.1.2.3:51820');
  t.deepEqual([...r], [4, 51820, 0x0a010203, 0, 0, 0, 0, 0]);
  t.is(formatEndpoint(r), '10.1.2.3:51820');
  const r6 = parseEndpoint('[2001:db8::1]:443');
  t.is(r6[0], 6);
  t.is(formatEndpoint(r6), '[2001:db8::1]:443');
  const b = new Uint8Array(18);
  t.is(endpointBytes(r, 0, b), 6);
  t.is(toHex(b, 0, 6), '0a010203ca6c');
  t.is(endpointBytes(r6, 0, b), 18);
  t.is(formatEndpoint(new Int32Array(ENDPOINT_WORDS)), '(none)');
  for (const bad of ['10.1.2.3', '10.1.2.3:70000', 'host:1', '[::1]', ':1']) t.throws(() => parseEndpoint(bad), { code: 'ERR_PKT_INVALID_ADDRESS' }, bad);
});

test('MemoryLink delivers only on pump, to the addressed bind, and logs', (t) => {
  const link = new MemoryLink();
  const a = link.bind('10.0.0.1:1');
  const b = link.bind('10.0.0.2:2');
  const got: string[] = [];
  b.setReceiver((d, from, off) => got.push(`${toHex(d)} from ${formatEndpoint(from, off)}`));
  a.send(Uint8Array.of(1, 2), parseEndpoint('10.0.0.2:2'), 0);
  a.send(Uint8Array.of(3), parseEndpoint('10.0.0.9:2'), 0);
  t.deepEqual(got, []);
  t.is(link.pump(), 2);
  t.deepEqual(got, ['0102 from 10.0.0.1:1']);
  t.is(link.log.length, 2);
});

const sk1 = new Uint8Array(32).fill(0x51);
const sk2 = new Uint8Array(32).fill(0x52);

async function overRealUdp(t: import('ava').ExecutionContext, b1: WgBind, p1: number, b2: WgBind, p2: number, poll: () => void, out: WgDevice[] = []): Promise<void> {
  const d1 = new WgDevice({ privateKey: sk1, bind: b1, peers: [{ publicKey: keyPairFromPrivate(sk2).publicKey, endpoint: `127.0.0.1:${p2}`, allowedIps: ['10.9.0.2/32'] }] });
  const d2 = new WgDevice({ privateKey: sk2, bind: b2, peers: [{ publicKey: keyPairFromPrivate(sk1).publicKey, allowedIps: ['10.9.0.1/32'] }] });
  out.push(d1, d2);
  const in1: number[] = [];
  const in2: number[] = [];
  d1.setHandler((p) => in1.push(p[27]!));
  d2.setHandler((p) => {
    in2.push(p[27]!);
    // Echo back from inside the handler (re-entrant send).
    const r = Uint8Array.from(p);
    r.set(p.subarray(12, 16), 16);
    r.set(p.subarray(16, 20), 12);
    d2.send(r);
  });
  for (let i = 1; i <= 20; i++) d1.send(ping('10.9.0.1', '10.9.0.2', i));
  const deadline = Date.now() + 5000;
  while (in1.length < 20 && Date.now() < deadline) {
    poll();
    await new Promise((r) => setTimeout(r, 2));
  }
  t.is(in2.length, 20);
  t.deepEqual(in1, Array.from({ length: 20 }, (_, i) => i + 1));
  t.is(d2.show().peers[0]!.endpoint, `127.0.0.1:${p1}`);
  t.deepEqual(d1.show().drops, {});
  t.deepEqual(d2.show().drops, {});
  d1.close();
  d2.close();
}

test('two WgDevices over node:dgram on loopback: handshake, 20 pings echoed', async (t) => {
  const b1 = await DgramBind.open({ address: '127.0.0.1' });
  const b2 = await DgramBind.open({ address: '127.0.0.1' });
  await overRealUdp(t, b1, b1.port, b2, b2.port, () => {});
});

test('two WgDevices over the batched UDP socket (addon): handshake, 20 pings echoed', async (t) => {
  if (!hasNative('udp')) return t.fail('the addon with udp is required');
  const s1 = UdpSocket.open({ bind: '127.0.0.1:0' });
  const s2 = UdpSocket.open({ bind: '127.0.0.1:0' });
  const b1 = new BatchedUdpBind(s1);
  const b2 = new BatchedUdpBind(s2);
  await overRealUdp(t, b1, s1.localAddress.port, b2, s2.localAddress.port, () => {
    b1.poll();
    b2.poll();
  });
});

test('batched UDP socket into receiveBatch (pollBatch): handshake, 20 pings echoed', async (t) => {
  if (!hasNative('udp')) return t.fail('the addon with udp is required');
  const s1 = UdpSocket.open({ bind: '127.0.0.1:0' });
  const s2 = UdpSocket.open({ bind: '127.0.0.1:0' });
  const b1 = new BatchedUdpBind(s1);
  const b2 = new BatchedUdpBind(s2);
  const devices: WgDevice[] = [];
  await overRealUdp(t, b1, s1.localAddress.port, b2, s2.localAddress.port, () => {
    b1.pollBatch(devices[0]!);
    b2.pollBatch(devices[1]!);
  }, devices);
});

test('two WgDevices over node:dgram on IPv6 loopback', async (t) => {
  const b1 = await DgramBind.open({ address: '::1', type: 'udp6' });
  const b2 = await DgramBind.open({ address: '::1', type: 'udp6' });
  const d1 = new WgDevice({ privateKey: sk1, bind: b1, peers: [{ publicKey: keyPairFromPrivate(sk2).publicKey, endpoint: `[::1]:${b2.port}`, allowedIps: ['10.9.0.2/32'] }] });
  const d2 = new WgDevice({ privateKey: sk2, bind: b2, peers: [{ publicKey: keyPairFromPrivate(sk1).publicKey, allowedIps: ['10.9.0.1/32'] }] });
  const got: number[] = [];
  d2.setHandler((p) => got.push(p[27]!));
  for (let i = 1; i <= 3; i++) d1.send(ping('10.9.0.1', '10.9.0.2', i));
  for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
  t.deepEqual(got, [1, 2, 3]);
  t.is(d2.show().peers[0]!.endpoint, `[::1]:${b1.port}`);
  d1.close();
  d2.close();
});
