/**
 * IntMap: a map from int32 keys to values, by open addressing over typed arrays, for lookups on
 * packet paths (route tables now; ARP, NDP and NAT tables later).
 *
 *   keys  Int32Array(slots)   the key in each slot
 *   used  Uint8Array(slots)   1 where a slot holds an entry (any int32 is a valid key)
 *   vals  T[]                 the value in each slot
 *
 * Linear probing from a Fibonacci hash of the key xor a per-map random seed (so that keys chosen
 * by a sender cannot be aimed at one probe run without knowing the seed); the table doubles when
 * more than half full and deletes by backward shifting, so probe runs stay short and no
 * tombstones accumulate. `get` allocates nothing and, unlike a Map keyed by numbers, never boxes
 * its key. Not bounded by itself: owners bound what they insert.
 */

const MIN_BITS = 3;

export class IntMap<T> {
  private bits = MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  private keys = new Int32Array(1 << MIN_BITS);
  private used = new Uint8Array(1 << MIN_BITS);
  private vals: (T | undefined)[] = new Array<T | undefined>(1 << MIN_BITS).fill(undefined);
  private count = 0;
  private readonly seed: number;

  /** @param seed fixes the hash seed (tests); random by default. */
  constructor(seed?: number) {
    this.seed = seed ?? crypto.getRandomValues(new Int32Array(1))[0]!;
  }

  get size(): number {
    return this.count;
  }

  private home(key: number): number {
    return Math.imul(key ^ this.seed, 0x9e3779b1) >>> (32 - this.bits);
  }

  /** The value for `key`, or undefined. */
  get(key: number): T | undefined {
    const keys = this.keys;
    const used = this.used;
    const mask = this.mask;
    let s = this.home(key);
    while (used[s] === 1) {
      if (keys[s] === key) return this.vals[s];
      s = (s + 1) & mask;
    }
    return undefined;
  }

  has(key: number): boolean {
    return this.slotOf(key) >= 0;
  }

  /** Sets `key` to `value` (replacing any value). */
  set(key: number, value: T): void {
    key |= 0;
    const s = this.slotOf(key);
    if (s >= 0) {
      this.vals[s] = value;
      return;
    }
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    this.insert(key, value);
    this.count++;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    let hole = this.slotOf(key | 0);
    if (hole < 0) return false;
    const mask = this.mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      if (this.used[j] !== 1) break;
      const k = this.home(this.keys[j]!);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (!stays) {
        this.keys[hole] = this.keys[j]!;
        this.vals[hole] = this.vals[j];
        hole = j;
      }
    }
    this.used[hole] = 0;
    this.vals[hole] = undefined;
    this.count--;
    return true;
  }

  /** The values (cold path). */
  values(): T[] {
    const out: T[] = [];
    for (let s = 0; s <= this.mask; s++) if (this.used[s] === 1) out.push(this.vals[s]!);
    return out;
  }

  /** The keys (cold path). */
  keyList(): number[] {
    const out: number[] = [];
    for (let s = 0; s <= this.mask; s++) if (this.used[s] === 1) out.push(this.keys[s]!);
    return out;
  }

  clear(): void {
    this.bits = MIN_BITS;
    this.mask = (1 << MIN_BITS) - 1;
    this.keys = new Int32Array(1 << MIN_BITS);
    this.used = new Uint8Array(1 << MIN_BITS);
    this.vals = new Array<T | undefined>(1 << MIN_BITS).fill(undefined);
    this.count = 0;
  }

  private slotOf(key: number): number {
    let s = this.home(key);
    while (this.used[s] === 1) {
      if (this.keys[s] === key) return s;
      s = (s + 1) & this.mask;
    }
    return -1;
  }

  private insert(key: number, value: T): void {
    let s = this.home(key);
    while (this.used[s] === 1) s = (s + 1) & this.mask;
    this.keys[s] = key;
    this.used[s] = 1;
    this.vals[s] = value;
  }

  private grow(): void {
    const { keys, used, vals } = this;
    this.bits++;
    this.mask = (1 << this.bits) - 1;
    this.keys = new Int32Array(1 << this.bits);
    this.used = new Uint8Array(1 << this.bits);
    this.vals = new Array<T | undefined>(1 << this.bits).fill(undefined);
    for (let s = 0; s < used.length; s++) if (used[s] === 1) this.insert(keys[s]!, vals[s]!);
  }
}
