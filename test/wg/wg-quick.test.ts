import test from 'ava';
import { genkey, pubkey } from '../../src/wg/crypto.js';
import { formatWgQuick, parseWgQuick } from '../../src/wg/wg-quick.js';
import { WgDevice } from '../../src/wg/device.js';
import { MemoryLink } from '../../src/wg/bind.js';

const sk = genkey();
const pk1 = pubkey(genkey());
const pk2 = pubkey(genkey());
const psk = genkey();

const text = `# server
[Interface]
PrivateKey = ${sk}
ListenPort = 51820
Address = 10.0.0.1/24, fd00::1/64
MTU = 1380
PostUp = iptables -A FORWARD -i %i -j ACCEPT   # kept for wg-quick

[Peer]
PublicKey = ${pk1}
PresharedKey = ${psk}
AllowedIPs = 10.0.0.2/32, fd00::2/128
allowedips = 192.168.7.9/24
Endpoint = 203.0.113.5:51820
PersistentKeepalive = 25

[peer]
PublicKey = ${pk2}
AllowedIPs = 10.0.0.3/32
`;

test('wg-quick: parse, configure a device from it, write and parse again', (t) => {
  const cfg = parseWgQuick(text);
  t.is(cfg.privateKey, sk);
  t.is(cfg.listenPort, 51820);
  t.deepEqual(cfg.addresses, ['10.0.0.1/24', 'fd00::1/64']);
  t.is(cfg.mtu, 1380);
  t.deepEqual(cfg.extra, [['PostUp', 'iptables -A FORWARD -i %i -j ACCEPT']]);
  t.is(cfg.peers.length, 2);
  t.deepEqual(cfg.peers[0]!.allowedIps, ['10.0.0.2/32', 'fd00::2/128', '192.168.7.0/24']);
  t.is(cfg.peers[0]!.presharedKey, psk);
  t.is(cfg.peers[0]!.persistentKeepalive, 25);
  t.is(cfg.peers[1]!.endpoint, undefined);
  const dev = new WgDevice({ privateKey: cfg.privateKey, listenPort: cfg.listenPort, mtu: cfg.mtu, bind: new MemoryLink().bind('127.0.0.1:1'), peers: cfg.peers });
  const show = dev.show();
  t.is(show.publicKey, pubkey(sk));
  t.deepEqual(show.peers.map((p) => [p.publicKey, p.presharedKey, p.endpoint, p.allowedIps.length, p.persistentKeepalive]), [
    [pk1, true, '203.0.113.5:51820', 3, 25],
    [pk2, false, null, 1, 0],
  ]);
  dev.close();
  const again = parseWgQuick(formatWgQuick(cfg));
  t.deepEqual(again, cfg);
  t.is(formatWgQuick(again), formatWgQuick(cfg));
});

const bad: [string, string, RegExp][] = [
  ['unknown section', `[Interface]\nPrivateKey = ${sk}\n[Foo]\n`, /line 3: unknown section/],
  ['key outside a section', `PrivateKey = ${sk}\n`, /line 1: expected/],
  ['bad key', `[Interface]\nPrivateKey = abc\n`, /line 2: .*44-character base64/],
  ['port out of range', `[Interface]\nPrivateKey = ${sk}\nListenPort = 70000\n`, /line 3: expected an integer/],
  ['unknown peer key', `[Interface]\nPrivateKey = ${sk}\n[Peer]\nPublicKey = ${pk1}\nFoo = 1\n`, /line 5: unknown \[Peer\] key Foo/],
  ['bad endpoint', `[Interface]\nPrivateKey = ${sk}\n[Peer]\nPublicKey = ${pk1}\nEndpoint = nohost\n`, /line 5: .*endpoint/],
  ['missing private key', `[Interface]\nListenPort = 1\n`, /needs a PrivateKey/],
  ['peer without public key', `[Interface]\nPrivateKey = ${sk}\n[Peer]\nAllowedIPs = 10.0.0.0/8\n`, /\[Peer\] 1 needs a PublicKey/],
];
for (const [name, input, msg] of bad) {
  test(`wg-quick: ${name} is a ConfigError naming the line`, (t) => {
    t.throws(() => parseWgQuick(input), { code: 'ERR_PKT_CONFIG', message: msg });
  });
}
