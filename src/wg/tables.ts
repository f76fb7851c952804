/**
 * The device's two lookup tables (notes §6.3):
 *
 * - `IndexTable`: receiver index (random u32) -> {peer, keypair | handshake}. Transport, response
 *   and cookie messages are routed by index alone: one IntMap probe, no allocation. Bounded
 *   (MAX_INDICES: one handshake and three keypairs per peer); indices come from the injected
 *   random source and are retried until unused.
 * - `PeerTable`: static public key -> peer, for initiations (routed by the decrypted static key).
 *   Keyed by the key's first 4 bytes in an IntMap with a random seed, chained, keys compared in
 *   full: a key chosen by an attacker is never turned into a string.
 */

import { IntMap } from '../core/int-map.js';
import { MAX_INDICES } from './constants.js';
import type { WgPeer } from './peer.js';
import type { Keypair } from './transport.js';

export class IndexEntry {
  readonly peer: WgPeer;
  /** The keypair this index names, or null while it names the peer's handshake. */
  keypair: Keypair | null;
  constructor(peer: WgPeer, keypair: Keypair | null) {
    this.peer = peer;
    this.keypair = keypair;
  }
}

export class IndexTable {
  readonly #map = new IntMap<IndexEntry>();
  readonly #random: (b: Uint8Array) => void;
  readonly #rnd = new Uint8Array(4);
  readonly maxEntries: number;

  constructor(random: (b: Uint8Array) => void, maxEntries = MAX_INDICES) {
    this.#random = random;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The entry of u32 `index`, or undefined. */
  get(index: number): IndexEntry | undefined {
    return this.#map.get(index | 0);
  }

  delete(index: number): void {
    this.#map.delete(index | 0);
  }

  /**
   * A new random index naming `peer`'s handshake; the peer's previous handshake index is
   * released first. Returns the index (u32), or -1 when the table is full.
   */
  newHandshakeIndex(peer: WgPeer): number {
    if (peer.handshakeIndex !== -1) this.#map.delete(peer.handshakeIndex | 0);
    peer.handshakeIndex = -1;
    if (this.#map.size >= this.maxEntries) return -1;
    const r = this.#rnd;
    for (let tries = 0; tries < 64; tries++) {
      this.#random(r);
      const index = (r[0]! | (r[1]! << 8) | (r[2]! << 16) | (r[3]! << 24)) >>> 0;
      if (this.#map.has(index | 0)) continue;
      this.#map.set(index | 0, new IndexEntry(peer, null));
      peer.handshakeIndex = index;
      return index;
    }
    return -1;
  }
}

function keyHash(k: Uint8Array): number {
  return k[0]! | (k[1]! << 8) | (k[2]! << 16) | (k[3]! << 24);
}

export class PeerTable {
  readonly #byKey = new IntMap<WgPeer[]>();
  readonly list: WgPeer[] = [];

  get size(): number {
    return this.list.length;
  }

  /** The peer with the 32-byte `key`, or null. Allocates nothing. */
  find(key: Uint8Array): WgPeer | null {
    const chain = this.#byKey.get(keyHash(key));
    if (chain === undefined) return null;
    for (let c = 0; c < chain.length; c++) {
      const p = chain[c]!;
      let d = 0;
      for (let i = 0; i < 32; i++) d |= p.publicKey[i]! ^ key[i]!;
      if (d === 0) return p;
    }
    return null;
  }

  add(peer: WgPeer): void {
    this.list.push(peer);
    const k = keyHash(peer.publicKey);
    const chain = this.#byKey.get(k);
    if (chain === undefined) this.#byKey.set(k, [peer]);
    else chain.push(peer);
  }

  remove(peer: WgPeer): void {
    const i = this.list.indexOf(peer);
    if (i === -1) return;
    this.list.splice(i, 1);
    const k = keyHash(peer.publicKey);
    const chain = this.#byKey.get(k)!;
    chain.splice(chain.indexOf(peer), 1);
    if (chain.length === 0) this.#byKey.delete(k);
  }
}
