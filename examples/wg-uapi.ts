/**
 * The WireGuard configuration protocol (pktkit/wg `serveUapi`): a WgDevice answers wg(8)'s
 * UAPI on a Unix socket. As root, serve it by interface name (`{ name: 'wg0' }`, the socket
 * /var/run/wireguard/wg0.sock) and `wg show wg0`, `wg set wg0 peer ...` and `wg setconf wg0 f`
 * work on it as on wireguard-go. Here, without root, the socket is in a temporary directory and
 * this process speaks the protocol itself: a set adds a peer, a get reads it back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgramBind, WgDevice, genkey, keyFromBase64, keyToHex, parseUapiGet, pubkey, serveUapi } from 'pktkit/wg';

const bind = await DgramBind.open({ address: '127.0.0.1' });
const device = new WgDevice({ privateKey: genkey(), bind, listenPort: bind.port });
const dir = mkdtempSync(join(tmpdir(), 'wg-uapi-'));
const server = await serveUapi(device, { path: join(dir, 'wg0.sock') });

/** One UAPI exchange: write the request, read until the answer's empty line. */
function uapi(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(server.path, () => c.write(request));
    let out = '';
    c.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.endsWith('\n\n')) {
        c.end();
        resolve(out);
      }
    });
    c.on('error', reject);
  });
}

// What `wg set wg0 peer <key> endpoint 192.0.2.7:51820 allowed-ips 10.9.0.2/32` sends: keys in hex.
const peerKey = keyToHex(keyFromBase64(pubkey(genkey())));
console.log((await uapi(`set=1\npublic_key=${peerKey}\nendpoint=192.0.2.7:51820\nreplace_allowed_ips=true\nallowed_ip=10.9.0.2/32\n\n`)).trim());
console.log((await uapi('set=1\nlisten_port=not-a-port\n\n')).trim(), '(refused: nothing changed)');
const got = parseUapiGet(await uapi('get=1\n\n'));
if (!got.ok) throw new Error(got.message);
const peer = got.state.peers[0]!;
console.log(`get: listen_port ${got.state.listenPort === bind.port ? 'is ours' : 'differs'}, ${got.state.peers.length} peer, endpoint ${peer.endpoint}, allowed ${peer.allowedIps.join(',')}`);
await server.close();
device.close();
rmSync(dir, { recursive: true, force: true });
