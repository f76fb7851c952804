/**
 * Batched AEAD (pktkit/aead): seal and open many packets in place with one call, as a VPN data
 * path does. Uses the native addon when it is built, node:crypto otherwise (same bytes).
 */
import { randomBytes } from 'node:crypto';
import { AeadStatus, createAead, setCounterNonce } from 'pktkit/aead';

const aead = createAead('chacha20-poly1305', randomBytes(32));
const SLOT = 2048;
const COUNT = 64;
const buf = new Uint8Array(new SharedArrayBuffer(SLOT * COUNT)); // e.g. the slots of a ring
const offs = new Int32Array(COUNT);
const lens = new Int32Array(COUNT);
const nonces = new Uint8Array(12 * COUNT);
for (let i = 0; i < COUNT; i++) {
  offs[i] = i * SLOT + 16; // room for a header in front, as WireGuard has
  lens[i] = 1400;
  buf.fill(i, offs[i]!, offs[i]! + 1400);
  setCounterNonce(nonces, i, i, 0); // WireGuard's nonce: 4 zero bytes and a 64-bit counter
}

aead.sealBatch(buf, offs, lens, COUNT, nonces); // each slot: ciphertext, then its 16-byte tag
for (let i = 0; i < COUNT; i++) lens[i] = 1400 + 16;
buf[offs[7]! + 100]! ^= 1; // damage slot 7 in transit

const status = new Uint8Array(COUNT);
const failed = aead.openBatch(buf, offs, lens, COUNT, nonces, status);
console.log(`${aead.algorithm} (${aead.native ? 'native addon' : 'node:crypto'}): ${COUNT} slots, ${failed} failed`);
console.log(`slot 7: ${status[7] === AeadStatus.Ok ? 'ok' : 'tag mismatch, zeroed'}; slot 8 byte 0 = ${buf[offs[8]!]}`);
