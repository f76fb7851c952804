/**
 * wg(8) from wireguard-tools v1.0.20210914 configures and reads our WgDevice through its UAPI
 * socket (src/wg/uapi-server.ts at /var/run/wireguard/<name>.sock, where wg looks for
 * userspace interfaces, INTEROP.md §1):
 *
 * - `wg show <name> dump` and `wg showconf <name>` agree with `device.show()` field by field;
 * - `wg set <name> peer ... allowed-ips ... endpoint ... persistent-keepalive ... preshared-key`
 *   and `... peer ... remove` change the device;
 * - `wg set <name> private-key <file> listen-port <port>` changes our key (wg pubkey agrees) and
 *   rebinds our UDP socket; a port in use is refused with "Address already in use", unchanged;
 * - `wg setconf <name> <file>` replaces the whole configuration;
 * - a device configured by `wg setconf` alone completes a handshake with wireguard-go.
 *
 * Needs root and wireguard-tools (`apt-get install wireguard-tools`; the last test also
 * wireguard-go); a missing tool fails with that instruction, never skips. Each test uses its own
 * interface name and removes its socket and files.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DgramBind } from '../../src/wg/bind-udp.js';
import { keyFromBase64, keyToBase64, pubkey } from '../../src/wg/crypto.js';
import { WgDevice } from '../../src/wg/device.js';
import { parseWgQuick } from '../../src/wg/wg-quick.js';
import { serveUapi, type UapiServer } from '../../src/wg/uapi-server.js';

const run = promisify(execFile);
let seq = 0;

async function wg(args: string[], input?: string): Promise<string> {
  try {
    if (input !== undefined) return execFileSync('wg', args, { input, encoding: 'utf8', timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe'] });
    return (await run('wg', args, { timeout: 30_000 })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('wg is not installed: run `apt-get install wireguard-tools`');
    throw Object.assign(new Error(`wg ${args[0]} failed: ${e.stderr ?? e.message}`), { stderr: e.stderr ?? '' });
  }
}

interface Env {
  name: string;
  dir: string;
  dev: WgDevice;
  server: UapiServer;
}

/** Our device on 127.0.0.1 (node:dgram), its UAPI served as `name`; everything undone at teardown. */
async function ours(t: ExecutionContext, peers: ConstructorParameters<typeof WgDevice>[0]['peers'] = []): Promise<Env> {
  const name = `pku${process.pid % 10000}x${++seq}`;
  const dir = mkdtempSync(join(tmpdir(), 'pk-wgu-'));
  const bind = await DgramBind.open({ address: '127.0.0.1' });
  const dev = new WgDevice({ privateKey: (await wg(['genkey'])).trim(), bind, listenPort: bind.port, peers });
  const server = await serveUapi(dev, { name });
  t.teardown(async () => {
    await server.close();
    dev.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { name, dir, dev, server };
}

function file(env: Env, name: string, text: string): string {
  const p = join(env.dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

/** `wg show NAME dump` as records (the interface line's private key never leaves this function). */
async function dump(name: string): Promise<{ publicKey: string; listenPort: number; fwmark: string; peers: string[][] }> {
  const lines = (await wg(['show', name, 'dump'])).trim().split('\n').map((l) => l.split('\t'));
  const [iface, ...peers] = lines;
  return { publicKey: iface![1]!, listenPort: Number(iface![2]), fwmark: iface![3]!, peers };
}

/** Our device as `wg show dump` prints it: pubkey, psk, endpoint, allowed-ips, latest-handshake, rx, tx, keepalive. */
function ourDump(dev: WgDevice): string[][] {
  return dev.show().peers.map((p) => [
    p.publicKey,
    p.presharedKey ? keyToBase64(dev.peer(p.publicKey)!.handshake.psk) : '(none)',
    p.endpoint ?? '(none)',
    p.allowedIps.length === 0 ? '(none)' : p.allowedIps.join(','),
    String(p.latestHandshake),
    String(p.rxBytes),
    String(p.txBytes),
    p.persistentKeepalive === 0 ? 'off' : String(p.persistentKeepalive),
  ]);
}

test('wg show dump and wg showconf agree with device.show()', async (t) => {
  const k1 = pubkey((await wg(['genkey'])).trim());
  const k2 = pubkey((await wg(['genkey'])).trim());
  const psk = (await wg(['genpsk'])).trim();
  const env = await ours(t, [
    { publicKey: k1, endpoint: '127.0.0.1:9', allowedIps: ['10.61.0.0/24', 'fd00:61::/64'], presharedKey: psk, persistentKeepalive: 0 },
    { publicKey: k2, allowedIps: [] },
  ]);
  t.true(existsSync(`/var/run/wireguard/${env.name}.sock`));
  const d = await dump(env.name);
  const show = env.dev.show();
  t.is(d.publicKey, show.publicKey);
  t.is(d.listenPort, show.listenPort);
  t.is(d.fwmark, 'off');
  t.deepEqual(d.peers, ourDump(env.dev));
  t.deepEqual(d.peers[0]!.slice(1, 4), [psk, '127.0.0.1:9', '10.61.0.0/24,fd00:61::/64']);
  const conf = parseWgQuick(await wg(['showconf', env.name]));
  t.is(pubkey(conf.privateKey), show.publicKey, 'showconf carries our private key');
  t.is(conf.listenPort, show.listenPort);
  t.deepEqual(conf.peers.map((p) => [p.publicKey, p.endpoint ?? null, p.allowedIps]), show.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps]));
  t.is(await wg(['show', env.name, 'public-key']), `${show.publicKey}\n`);
});

test('wg set adds and updates a peer (allowed-ips, endpoint, keepalive, psk), then removes it', async (t) => {
  const env = await ours(t);
  const k = pubkey((await wg(['genkey'])).trim());
  const psk = (await wg(['genpsk'])).trim();
  const pskFile = file(env, 'psk', `${psk}\n`);
  // A UDP socket standing in for the peer: the keepalive turned on makes us initiate to it at once.
  const sink = createSocket('udp4');
  const got = new Promise<Buffer>((r) => sink.once('message', r));
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  t.teardown(() => sink.close());
  const port = sink.address().port;
  await wg(['set', env.name, 'peer', k, 'allowed-ips', '10.62.0.0/16,fd00:62::/48', 'endpoint', `127.0.0.1:${port}`, 'persistent-keepalive', '25', 'preshared-key', pskFile]);
  const p = env.dev.show().peers[0]!;
  t.deepEqual([p.publicKey, p.endpoint, p.allowedIps, p.persistentKeepalive, p.presharedKey], [k, `127.0.0.1:${port}`, ['10.62.0.0/16', 'fd00:62::/48'], 25, true]);
  t.is(keyToBase64(env.dev.peer(k)!.handshake.psk), psk);
  t.is((await got).length, 148, 'persistent keepalive on: a handshake initiation went out at once');
  // An update keeps the rest; wg set's allowed-ips replaces the list.
  await wg(['set', env.name, 'peer', k, 'allowed-ips', '10.63.0.1/32', 'persistent-keepalive', 'off']);
  const q = env.dev.show().peers[0]!;
  t.deepEqual([q.endpoint, q.allowedIps, q.persistentKeepalive, q.presharedKey], [`127.0.0.1:${port}`, ['10.63.0.1/32'], 0, true]);
  t.deepEqual((await dump(env.name)).peers, ourDump(env.dev));
  await wg(['set', env.name, 'peer', k, 'remove']);
  t.is(env.dev.peerCount, 0);
  t.deepEqual((await dump(env.name)).peers, []);
});

test('wg set private-key and listen-port: a new key (wg pubkey agrees) and a rebound socket; a port in use is refused', async (t) => {
  const env = await ours(t);
  const key = (await wg(['genkey'])).trim();
  const keyFile = file(env, 'key', `${key}\n`);
  const taken = createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
  t.teardown(() => taken.close());
  const takenPort = taken.address().port;
  // A free port: bind one, note it, release it (the rebind takes it a moment later).
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const freePort = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  await wg(['set', env.name, 'private-key', keyFile, 'listen-port', String(freePort)]);
  t.is(keyToBase64(env.dev.publicKey), (await wg(['pubkey'], key)).trim());
  t.is(env.dev.listenPort, freePort);
  t.is((env.dev.bind as DgramBind).port, freePort, 'the socket itself moved');
  const before = await wg(['showconf', env.name]);
  const err = await wg(['set', env.name, 'listen-port', String(takenPort)]).then(() => '', (e: { stderr: string }) => e.stderr);
  t.regex(err, /Unable to modify interface: Address already in use/);
  t.is(await wg(['showconf', env.name]), before, 'nothing changed');
  t.is(env.dev.listenPort, freePort);
});

test('wg setconf replaces the whole configuration', async (t) => {
  const old = pubkey((await wg(['genkey'])).trim());
  const env = await ours(t, [{ publicKey: old, allowedIps: ['10.64.0.0/24'] }]);
  const key = (await wg(['genkey'])).trim();
  const [a, b] = [pubkey((await wg(['genkey'])).trim()), pubkey((await wg(['genkey'])).trim())];
  const conf = file(env, 'wg.conf', `[Interface]\nPrivateKey = ${key}\nListenPort = ${env.dev.listenPort}\nFwMark = 0x2a\n\n[Peer]\nPublicKey = ${a}\nAllowedIPs = 10.65.0.0/24, fd00:65::/64\nEndpoint = [::1]:51999\nPersistentKeepalive = 0\n\n[Peer]\nPublicKey = ${b}\nAllowedIPs = 10.66.0.2/32\n`);
  await wg(['setconf', env.name, conf]);
  const show = env.dev.show();
  t.is(show.publicKey, pubkey(key));
  t.deepEqual(show.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps]), [[a, '[::1]:51999', ['10.65.0.0/24', 'fd00:65::/64']], [b, null, ['10.66.0.2/32']]]);
  t.is(env.dev.fwmark, 42);
  const d = await dump(env.name);
  t.is(d.fwmark, '0x2a');
  t.deepEqual(d.peers, ourDump(env.dev));
});

test('a device configured only by wg setconf completes a handshake with wireguard-go and carries a ping', async (t) => {
  const env = await ours(t);
  const ns = `pk-wgu-${process.pid}-${seq}`;
  const ifname = `pkug${process.pid % 10000}x${seq}`;
  let child: ChildProcess | null = null;
  t.teardown(() => {
    child?.kill('SIGTERM');
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  });
  execFileSync('ip', ['netns', 'add', ns]);
  child = spawn('wireguard-go', [ifname], { env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' }, stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child!.once('error', (e) => reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('wireguard-go is not installed: run `apt-get install wireguard-go`') : e));
    child!.once('spawn', () => resolve());
  });
  for (let i = 0; i < 100 && !existsSync(`/var/run/wireguard/${ifname}.sock`); i++) await new Promise((r) => setTimeout(r, 50));
  execFileSync('ip', ['link', 'set', ifname, 'netns', ns]);
  const theirKey = (await wg(['genkey'])).trim();
  const ourKey = (await wg(['genkey'])).trim();
  const theirPort = 43000 + (process.pid % 9000);
  // Ours, through wg alone: key, peer, endpoint. setconf without ListenPort sends listen_port=0:
  // we rebind to a random port, as wireguard-go does, so wireguard-go learns our port after this.
  await wg(['setconf', env.name, file(env, 'ours.conf', `[Interface]\nPrivateKey = ${ourKey}\n\n[Peer]\nPublicKey = ${pubkey(theirKey)}\nAllowedIPs = 10.67.0.1/32\nEndpoint = 127.0.0.1:${theirPort}\n`)]);
  await wg(['set', ifname, 'private-key', file(env, 'their.key', `${theirKey}\n`), 'listen-port', String(theirPort), 'peer', pubkey(ourKey), 'allowed-ips', '10.67.0.2/32', 'endpoint', `127.0.0.1:${env.dev.listenPort}`]);
  execFileSync('ip', ['-n', ns, 'addr', 'add', '10.67.0.1/24', 'dev', ifname]);
  execFileSync('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
  env.dev.setHandler((p) => {
    // An ICMP echo request to 10.67.0.2: answer by swapping addresses and turning the type (checksum adjusted by 8 << 8).
    if (p[9] !== 1 || p[20] !== 8) return;
    const r = Uint8Array.from(p);
    r.set(p.subarray(16, 20), 12);
    r.set(p.subarray(12, 16), 16);
    r[20] = 0;
    let c = ((r[22]! << 8) | r[23]!) + 0x0800;
    c = (c & 0xffff) + (c >>> 16);
    r[22] = c >>> 8;
    r[23] = c & 0xff;
    env.dev.send(r);
  });
  const out = (await run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '3', '10.67.0.2'])).stdout;
  t.regex(out, /3 packets transmitted, 3 received/);
  t.true(env.dev.show().peers[0]!.latestHandshake > 0);
  t.is(keyToBase64(keyFromBase64(env.dev.show().publicKey)), pubkey(ourKey));
});
