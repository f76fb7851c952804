/**
 * The UAPI applied to WgDevices (src/wg/uapi-device.ts) over a MemoryLink, and served on a Unix
 * socket in a temporary directory (src/wg/uapi-server.ts): get reports the device, set changes
 * it as wireguard-go would, refused sets change nothing, get -> set -> get round-trips, and the
 * socket frames requests, bounds them, and is removed on close.
 */
import test from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { MemoryLink, type WgBind } from '../../src/wg/bind.js';
import { keyPairFromPrivate, keyToBase64, keyToHex } from '../../src/wg/crypto.js';
import { WgDevice } from '../../src/wg/device.js';
import { MessageType } from '../../src/wg/constants.js';
import { UapiErrno, ZERO_KEY_HEX, formatUapiSet, parseUapiGet, uapiSetFromState, type UapiDeviceState } from '../../src/wg/uapi.js';
import { WgUapi, setPrivateKey, uapiState } from '../../src/wg/uapi-device.js';
import { serveUapi } from '../../src/wg/uapi-server.js';
import { A_ADDR, B_ADDR, makeNet, ping, sent } from './device-helpers.js';
import { seededRandom } from './helpers.js';
import { deviceStateArb, hexKeyArb } from './uapi-helpers.js';

const hex = (b: Uint8Array): string => keyToHex(b);
const K = (n: number): string => hex(keyPairFromPrivate(new Uint8Array(32).fill(n)).publicKey);

/** A lone device on its own link, with a rebind that opens a MemoryBind on the new port. */
function lone(opts: { maxPeers?: number; rebind?: boolean } = {}): { dev: WgDevice; uapi: WgUapi; link: MemoryLink } {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const dev = new WgDevice({ privateKey: new Uint8Array(32).fill(7), bind: link.bind('127.0.0.1:1000'), clock, wallClock: () => 1_700_000_000_000, random: seededRandom(9), listenPort: 1000, maxPeers: opts.maxPeers });
  const rebind = opts.rebind === false ? null : async (port: number): Promise<{ bind: WgBind; port: number }> => ({ bind: link.bind(`127.0.0.1:${port}`), port });
  return { dev, uapi: new WgUapi(dev, { rebind }), link };
}

/** Configuration only (counters and handshake times move on their own). */
function config(s: UapiDeviceState): unknown {
  return { ...s, peers: s.peers.map((p) => ({ ...p, txBytes: 0, rxBytes: 0, lastHandshakeSec: 0, lastHandshakeNsec: 0 })) };
}

test('get reports what wg show reports, keys in hex, counters included', (t) => {
  const net = makeNet({ psk: new Uint8Array(32).fill(3) });
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  const s = uapiState(net.a);
  t.is(s.privateKey, hex(keyPairFromPrivate(new Uint8Array(32).fill(0x41)).privateKey), 'the clamped key, as wireguard-go stores it');
  t.is(s.listenPort, 51820);
  t.is(s.fwmark, 0);
  const p = s.peers[0]!;
  t.is(p.publicKey, hex(Buffer.from(net.bKey, 'base64')));
  t.is(p.presharedKey, '03'.repeat(32));
  t.is(p.endpoint, B_ADDR);
  t.deepEqual(p.allowedIps, ['10.0.0.2/32', 'fd00::2/128']);
  const shown = net.a.show().peers[0]!;
  t.is(p.txBytes, shown.txBytes);
  t.is(p.rxBytes, shown.rxBytes);
  t.is(p.lastHandshakeSec, shown.latestHandshake);
  t.true(p.lastHandshakeSec > 0);
  const text = new WgUapi(net.a).get();
  t.true(text.endsWith('allowed_ip=fd00::2/128\nerrno=0\n\n'));
  t.like(parseUapiGet(text), { ok: true, state: { listenPort: 51820 } });
});

test('set adds, updates and removes peers as wireguard-go does', async (t) => {
  const { dev, uapi } = lone();
  t.is(await uapi.set(`public_key=${K(1)}\nendpoint=192.0.2.1:51820\nallowed_ip=10.0.0.0/24\nallowed_ip=10.1.0.0/16\npublic_key=${K(2)}\nallowed_ip=10.2.0.0/16\n`), 'errno=0\n\n');
  t.is(dev.peerCount, 2);
  t.deepEqual(dev.show().peers.map((p) => [p.endpoint, p.allowedIps]), [['192.0.2.1:51820', ['10.0.0.0/24', '10.1.0.0/16']], [null, ['10.2.0.0/16']]]);
  // allowed_ip=- removes one; a prefix given to another peer moves; replace_allowed_ips empties first.
  t.is(await uapi.set(`public_key=${K(1)}\nallowed_ip=-10.1.0.0/16\npublic_key=${K(2)}\nallowed_ip=10.0.0.0/24\n`), 'errno=0\n\n');
  t.deepEqual(dev.show().peers.map((p) => p.allowedIps), [[], ['10.2.0.0/16', '10.0.0.0/24']]);
  t.is(await uapi.set(`public_key=${K(2)}\nreplace_allowed_ips=true\nallowed_ip=fd00::/64\npreshared_key=${'ab'.repeat(32)}\n`), 'errno=0\n\n');
  t.deepEqual(dev.show().peers[1]!.allowedIps, ['fd00::/64']);
  t.true(dev.show().peers[1]!.presharedKey);
  // update_only: no new peer; remove: gone; our own key: ignored.
  t.is(await uapi.set(`public_key=${K(3)}\nupdate_only=true\nallowed_ip=10.3.0.0/16\npublic_key=${K(1)}\nremove=true\npublic_key=${hex(dev.publicKey)}\nallowed_ip=10.9.0.0/16\n`), 'errno=0\n\n');
  t.deepEqual(dev.peerList().map((p) => hex(p.publicKey)), [K(2)]);
  t.is(await uapi.set(`public_key=${K(2)}\nupdate_only=true\nendpoint=[2001:db8::1]:7\n`), 'errno=0\n\n');
  t.is(dev.show().peers[0]!.endpoint, '[2001:db8::1]:7');
  // replace_peers with a new set; fwmark recorded.
  t.is(await uapi.set(`fwmark=51\nreplace_peers=true\npublic_key=${K(4)}\n`), 'errno=0\n\n');
  t.deepEqual(dev.peerList().map((p) => hex(p.publicKey)), [K(4)]);
  t.is(uapiState(dev).fwmark, 51);
});

test('turning persistent keepalive on sends a handshake at once (wireguard-go pkaOn)', async (t) => {
  const { uapi, link } = lone();
  t.is(await uapi.set(`public_key=${K(1)}\npersistent_keepalive_interval=25\nendpoint=192.0.2.1:51820\n`), 'errno=0\n\n', 'keepalive before endpoint in the request: still sent after it');
  t.is(link.queue.filter((d) => d.data[0] === MessageType.Initiation).length, 1);
  t.is(await uapi.set(`public_key=${K(1)}\npersistent_keepalive_interval=25\n`), 'errno=0\n\n');
  t.is(link.queue.filter((d) => d.data[0] === MessageType.Initiation).length, 1, 'already on: nothing more');
});

test('listen_port rebinds through the hook; the same port does not; without a hook it is EOPNOTSUPP', async (t) => {
  const { dev, uapi } = lone();
  const old = dev.bind;
  t.is(await uapi.set('listen_port=1000\n'), 'errno=0\n\n');
  t.is(dev.bind, old);
  t.is(await uapi.set('listen_port=2000\n'), 'errno=0\n\n');
  t.not(dev.bind, old);
  t.true((old as unknown as { closed: boolean }).closed);
  t.is(dev.listenPort, 2000);
  const fixed = lone({ rebind: false });
  const before = fixed.uapi.get();
  t.is(await fixed.uapi.set(`private_key=${'11'.repeat(32)}\nlisten_port=2000\n`), `errno=${UapiErrno.NotSupported}\n\n`);
  t.is(fixed.uapi.get(), before, 'nothing changed, the private key neither');
  const failing = new WgUapi(fixed.dev, { rebind: () => Promise.reject(new Error('EADDRINUSE')) });
  t.is(await failing.set(`listen_port=2000\npublic_key=${K(1)}\n`), `errno=${UapiErrno.AddrInUse}\n\n`);
  t.is(fixed.uapi.get(), before);
});

test('a refused set changes nothing: a bad last line, too many peers, a zero private key', async (t) => {
  const { dev, uapi } = lone({ maxPeers: 2 });
  await uapi.set(`public_key=${K(1)}\nallowed_ip=10.0.0.0/24\n`);
  const before = uapi.get();
  const errors: number[] = [];
  uapi.onError = (_m, errno) => errors.push(errno);
  t.is(await uapi.set(`replace_peers=true\npublic_key=${K(2)}\nallowed_ip=10.2.0.0/16\nallowed_ip=nonsense\n`), 'errno=-22\n\n');
  t.is(await uapi.set(`public_key=${K(2)}\npublic_key=${K(3)}\n`), 'errno=-22\n\n', 'three peers with maxPeers 2');
  t.is(await uapi.set(`private_key=${ZERO_KEY_HEX}\n`), 'errno=-22\n\n');
  t.is(await uapi.set('no equals sign\n'), 'errno=-71\n\n');
  t.is(uapi.get(), before);
  t.deepEqual(errors, [-22, -22, -22, -71]);
  // Limits are simulated in order: removing one first makes room.
  t.is(await uapi.set(`public_key=${K(1)}\nremove=true\npublic_key=${K(2)}\npublic_key=${K(3)}\n`), 'errno=0\n\n');
  t.is(dev.peerCount, 2);
});

test('a new private key: peers rederive and handshake again; a peer with the new public key goes', async (t) => {
  const net = makeNet();
  net.a.send(ping('10.0.0.1', '10.0.0.2', 1));
  net.link.pump();
  t.is(net.bInbox.length, 1);
  const sk = new Uint8Array(32).fill(0x51);
  const pub = keyPairFromPrivate(sk).publicKey;
  net.a.addPeer({ publicKey: pub, allowedIps: ['10.9.9.9/32'] });
  const uapiA = new WgUapi(net.a);
  t.is(await uapiA.set(`private_key=${hex(sk)}\n`), 'errno=0\n\n');
  t.is(keyToBase64(net.a.publicKey), keyToBase64(pub));
  t.is(net.a.peer(pub), null, 'the peer holding our new public key was removed');
  // B learns A's new key (as an operator would, with wg set); A's next packet starts a handshake.
  t.is(await new WgUapi(net.b).set(`public_key=${hex(Buffer.from(net.aKey, 'base64'))}\nremove=true\npublic_key=${hex(pub)}\nallowed_ip=10.0.0.1/32\nendpoint=${A_ADDR}\n`), 'errno=0\n\n');
  const inits = sent(net, A_ADDR, MessageType.Initiation).length;
  net.a.send(ping('10.0.0.1', '10.0.0.2', 2));
  net.link.pump();
  t.is(sent(net, A_ADDR, MessageType.Initiation).length, inits + 1, 'the old keypair may no longer send');
  t.is(net.bInbox.length, 2);
  setPrivateKey(net.a, sk); // the same key again: nothing happens
  net.a.send(ping('10.0.0.1', '10.0.0.2', 3));
  net.link.pump();
  t.is(net.bInbox.length, 3);
  t.is(sent(net, A_ADDR, MessageType.Initiation).length, inits + 1);
});

test('property: get -> set on a fresh device -> get gives the same configuration', async (t) => {
  await fc.assert(
    fc.asyncProperty(deviceStateArb, async (raw) => {
      // One owner per prefix (a later peer takes it), and the private key as the device stores it (clamped).
      const seen = new Set<string>();
      const state: UapiDeviceState = {
        ...raw,
        privateKey: raw.privateKey === null ? null : hex(keyPairFromPrivate(Buffer.from(raw.privateKey, 'hex')).privateKey),
        peers: raw.peers.map((p) => ({ ...p, allowedIps: p.allowedIps.filter((a) => !seen.has(a) && seen.add(a) !== null) })),
      };
      const one = lone();
      if ((await one.uapi.set(formatUapiSet(uapiSetFromState(state)).slice(6))) !== 'errno=0\n\n') return false;
      const got = uapiState(one.dev);
      const want = { ...state, privateKey: state.privateKey ?? got.privateKey };
      if (JSON.stringify(config(got)) !== JSON.stringify(config(want))) return false;
      const two = lone();
      if ((await two.uapi.set(formatUapiSet(uapiSetFromState(got)).slice(6))) !== 'errno=0\n\n') return false;
      return JSON.stringify(config(uapiState(two.dev))) === JSON.stringify(config(got));
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test('property: any request body leaves the device either changed with errno 0 or untouched', async (t) => {
  const { uapi } = lone({ maxPeers: 3 });
  const line = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.tuple(fc.constantFrom('public_key', 'remove', 'update_only', 'allowed_ip', 'replace_peers', 'replace_allowed_ips', 'endpoint', 'listen_port', 'private_key'), fc.oneof(hexKeyArb, fc.constant('true'), fc.constantFrom('10.0.0.0/8', '1.2.3.4:5', '-10.0.0.0/8', '7', 'x'))).map(([k, v]) => `${k}=${v}`),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(line, { maxLength: 12 }), async (lines) => {
      const before = uapi.get();
      const answer = await uapi.set(lines.map((l) => `${l}\n`).join(''));
      const m = /^errno=(-?\d+)\n\n$/.exec(answer);
      if (m === null) return false;
      return m[1] === '0' || uapi.get() === before;
    }),
    { numRuns: 400 },
  );
  t.pass();
});

// -------------------------------------------------------------------------------------------
// The socket

function tmpSock(t: { teardown: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pk-uapi-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'wgt0.sock');
}

/** Sends `data` (or each item, one write per item), half-closes, and resolves with everything read. */
function talk(path: string, data: string | string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(path);
    let out = '';
    c.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.on('error', reject);
    c.on('end', () => resolve(out));
    c.on('connect', async () => {
      for (const d of Array.isArray(data) ? data : [data]) {
        c.write(d);
        await new Promise((r) => setTimeout(r, 5));
      }
      c.end();
    });
  });
}

test('the socket: several requests per connection, in order, split anywhere; 0600; removed on close', async (t) => {
  const path = tmpSock(t);
  const { dev } = lone();
  const server = await serveUapi(dev, { path, rebind: async (port) => ({ bind: new MemoryLink().bind(`127.0.0.1:${port}`), port }) });
  t.is(statSync(path).mode & 0o777, 0o600);
  const req = `get=1\n\nset=1\npublic_key=${K(1)}\nallowed_ip=10.0.0.0/8\n\nget=1\n\nset=1\nlisten_port=4000\n\n`;
  const out = await talk(path, [req.slice(0, 3), req.slice(3, 40), req.slice(40)]);
  const parts = out.split('\n\n');
  t.is(parts.length, 5);
  t.false(parts[0]!.includes('public_key'));
  t.is(parts[1], 'errno=0');
  t.true(parts[2]!.includes(`public_key=${K(1)}\n`));
  t.true(parts[2]!.endsWith('allowed_ip=10.0.0.0/8\nerrno=0'));
  t.is(parts[3], 'errno=0');
  t.is(dev.listenPort, 4000);
  t.is(await talk(path, 'set=1\n\n'), 'errno=0\n\n', 'an empty set');
  await server.close();
  t.false(existsSync(path));
  await server.close();
});

test('the socket: framing errors answer an errno and end the connection', async (t) => {
  const path = tmpSock(t);
  const { dev } = lone();
  const errors: number[] = [];
  const server = await serveUapi(dev, { path, maxRequestBytes: 1024, onError: (_m, e) => errors.push(e) });
  t.teardown(() => server.close());
  t.is(await talk(path, 'hello=1\n\nget=1\n\n'), 'errno=-22\n\n');
  t.is(await talk(path, 'get=1\nx\n'), 'errno=-22\n\n');
  t.is(await talk(path, 'x'.repeat(100)), 'errno=-22\n\n', 'no operation line in the first bytes');
  t.is(await talk(path, `set=1\n${'allowed_ip=10.0.0.0/8\n'.repeat(100)}`), 'errno=-90\n\n', 'over maxRequestBytes, unterminated');
  t.is(await talk(path, 'get=1\n'), '', 'a half request at the end: nothing');
  t.is(await talk(path, 'set=1\nlisten_port=99999\n\nget=1\n\n').then((s) => s.slice(0, 23)), 'errno=-22\n\nprivate_key=', 'a refused set keeps the connection');
  t.deepEqual(errors, [-22, -22, -22, -90, -22]);
  t.is(server.connections, 0);
});

test('the socket: a stale socket is replaced, a live one refused, a non-socket left alone', async (t) => {
  const path = tmpSock(t);
  const { dev } = lone();
  // A live listener on the path: refused.
  const other = createServer();
  await new Promise<void>((r) => other.listen(path, r));
  await t.throwsAsync(serveUapi(dev, { path }), { code: 'ERR_PKT_IO' });
  await new Promise<void>((r) => other.close(() => r()));
  t.false(existsSync(path), 'node removes its own socket on close');
  // A crashed server leaves its socket file behind: stale, replaced.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  t.true(existsSync(path));
  const server = await serveUapi(dev, { path });
  t.like(parseUapiGet(await talk(path, 'get=1\n\n')), { ok: true });
  await server.close();
  writeFileSync(path, 'not a socket');
  await t.throwsAsync(serveUapi(dev, { path }), { code: 'ERR_PKT_IO' });
  t.true(existsSync(path));
  await t.throwsAsync(serveUapi(dev, { name: 'a/b' }), { code: 'ERR_PKT_INVALID_ARG' });
  await t.throwsAsync(serveUapi(dev, { name: 'sixteen-chars-xx' }), { code: 'ERR_PKT_INVALID_ARG' });
});
