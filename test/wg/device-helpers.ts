/** Two WgDevices over a MemoryLink with a ManualClock (device and timer tests). */

import { ManualClock } from '../../src/core/clock.js';
import { MemoryLink, type MemoryDatagram } from '../../src/wg/bind.js';
import { keyPairFromPrivate, keyToBase64 } from '../../src/wg/crypto.js';
import { WgDevice, type WgDeviceOptions } from '../../src/wg/device.js';
import { IpAddr } from '../../src/wire/addr.js';
import { seededRandom } from './helpers.js';

export const A_ADDR = '127.0.0.1:51820';
export const B_ADDR = '127.0.0.2:51821';
export const WALL0 = 1_700_000_000_000;

export interface Net {
  clock: ManualClock;
  link: MemoryLink;
  a: WgDevice;
  b: WgDevice;
  aKey: string;
  bKey: string;
  /** Packets each device delivered to its inner side (copies). */
  aInbox: Uint8Array[];
  bInbox: Uint8Array[];
}

const skA = new Uint8Array(32).fill(0x41);
const skB = new Uint8Array(32).fill(0x42);
export const pubA = keyToBase64(keyPairFromPrivate(skA).publicKey);
export const pubB = keyToBase64(keyPairFromPrivate(skB).publicKey);

export function makeNet(opts: { a?: Partial<WgDeviceOptions>; b?: Partial<WgDeviceOptions>; psk?: Uint8Array; bKnowsAEndpoint?: boolean; aead?: { native?: boolean } } = {}): Net {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const wallClock = (): number => WALL0 + clock.now();
  const psk = opts.psk ?? null;
  const a = new WgDevice({
    privateKey: skA,
    bind: link.bind(A_ADDR),
    clock,
    wallClock,
    random: seededRandom(1),
    listenPort: 51820,
    aead: opts.aead ?? {},
    peers: [{ publicKey: pubB, endpoint: B_ADDR, allowedIps: ['10.0.0.2/32', 'fd00::2/128'], presharedKey: psk }],
    ...opts.a,
  });
  const b = new WgDevice({
    privateKey: skB,
    bind: link.bind(B_ADDR),
    clock,
    wallClock,
    random: seededRandom(2),
    listenPort: 51821,
    aead: opts.aead ?? {},
    peers: [{ publicKey: pubA, allowedIps: ['10.0.0.1/32', 'fd00::1/128'], presharedKey: psk, endpoint: opts.bKnowsAEndpoint ? A_ADDR : null }],
    ...opts.b,
  });
  const aInbox: Uint8Array[] = [];
  const bInbox: Uint8Array[] = [];
  a.setHandler((p) => aInbox.push(p.slice()));
  b.setHandler((p) => bInbox.push(p.slice()));
  return { clock, link, a, b, aKey: pubA, bKey: pubB, aInbox, bInbox };
}

/** An IPv4 ICMP echo request (ping-like) from `src` to `dst` with `payload` bytes of data. */
export function ping(src: string, dst: string, seq = 1, payload = 56): Uint8Array {
  const len = 20 + 8 + payload;
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >>> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 1;
  p.set(IpAddr.parse(src).bytes, 12);
  p.set(IpAddr.parse(dst).bytes, 16);
  p[20] = 8;
  p[26] = seq >>> 8;
  p[27] = seq & 0xff;
  for (let i = 0; i < payload; i++) p[28 + i] = i;
  return p;
}

/** Message type of a logged datagram. */
export function typeOf(d: MemoryDatagram): number {
  return d.data[0]!;
}

/** Datagrams in the log sent from `addr`, of message type `type` (any when omitted). */
export function sent(net: Net, from: string, type?: number): MemoryDatagram[] {
  const port = Number(from.split(':')[1]);
  return net.link.log.filter((d) => d.from[1] === port && (type === undefined || typeOf(d) === type));
}
