/**
 * WireGuard (pktkit/wg): two WireGuard devices on loopback UDP, configured as wg(8) would be.
 * Each device's inner side is an L3Device: a packet sent into one comes out of the other,
 * after a Noise_IKpsk2 handshake. No root.
 */
import { checksum } from 'pktkit';
import { DgramBind, WgDevice, genkey, pubkey } from 'pktkit/wg';

const [keyA, keyB] = [genkey(), genkey()];
const [bindA, bindB] = await Promise.all([DgramBind.open({ address: '127.0.0.1' }), DgramBind.open({ address: '127.0.0.1' })]);
const a = new WgDevice({
  privateKey: keyA,
  bind: bindA,
  listenPort: bindA.port,
  addr: '10.9.0.1/24',
  peers: [{ publicKey: pubkey(keyB), allowedIps: ['10.9.0.2/32'], endpoint: `127.0.0.1:${bindB.port}` }],
});
const b = new WgDevice({
  privateKey: keyB,
  bind: bindB,
  listenPort: bindB.port,
  addr: '10.9.0.2/24',
  peers: [{ publicKey: pubkey(keyA), allowedIps: ['10.9.0.1/32'] }], // no endpoint: learnt from a's handshake
});

const got = new Promise<Uint8Array>((resolve) => b.setHandler((packet) => resolve(packet.slice())));
// An IPv4 header from 10.9.0.1 to 10.9.0.2 and 8 bytes: the inner packet a sends (queued until the handshake completes).
const packet = new Uint8Array([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2, 0x30, 0x39, 0x30, 0x39, 0, 8, 0, 0]);
const sum = checksum(packet, 0, 20);
packet[10] = sum >>> 8;
packet[11] = sum & 0xff;
a.send(packet);
let timer: NodeJS.Timeout | undefined;
const inner = await Promise.race([got, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('nothing in 5 s')), 5000)))]);
clearTimeout(timer);
console.log(`b got ${inner.length} bytes from ${inner.slice(12, 16).join('.')}`);
const peerOfA = a.show().peers[0]!;
console.log(`a: handshake ${peerOfA.latestHandshake > 0 ? 'done' : 'missing'}, endpoint ${peerOfA.endpoint}, tx ${peerOfA.txBytes > 0 ? '> 0' : '0'} bytes`);
a.close();
b.close();
