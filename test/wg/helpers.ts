/** Shared fixtures of the WireGuard tests: the §7.2 identities and a deterministic rng. */

import { keyPairFromPrivate, type KeyPair } from '../../src/wg/crypto.js';
import { Handshake, StaticIdentity } from '../../src/wg/noise.js';
import { fromHex } from '../../src/wire/bytes.js';
import * as V from '../vectors/wg-noise.js';

export interface Pair {
  ini: StaticIdentity;
  res: StaticIdentity;
  /** The initiator's handshake with the responder, and the responder's with the initiator. */
  iHs: Handshake;
  rHs: Handshake;
  ei: KeyPair;
  er: KeyPair;
}

export function vectorPair(psk: Uint8Array | null = null): Pair {
  const ini = new StaticIdentity(fromHex(V.inputs.si));
  const res = new StaticIdentity(fromHex(V.inputs.sr));
  return {
    ini,
    res,
    iHs: new Handshake(ini, res.publicKey, psk),
    rHs: new Handshake(res, ini.publicKey, psk),
    ei: keyPairFromPrivate(fromHex(V.inputs.ei)),
    er: keyPairFromPrivate(fromHex(V.inputs.er)),
  };
}

/** A seeded xorshift rng filling byte arrays (deterministic tests). */
export function seededRandom(seed = 0x1234_5678): (b: Uint8Array) => void {
  let x = seed | 0 || 1;
  return (b) => {
    for (let i = 0; i < b.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
  };
}
