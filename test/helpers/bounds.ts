/**
 * Bounds probes for property tests: "after check() is Ok, no accessor reads out of bounds".
 *
 * Out-of-bounds reads on a Uint8Array do not throw (they give undefined, which shifts and ORs
 * turn into 0), so a test cannot see them from the values. `BoundsProbe` wraps the bytes in a
 * Proxy that records every element index read or written outside a window [lo, hi), and
 * `readGetters` calls every getter a class declares, so a new accessor is covered by the property
 * tests without editing them.
 */

const INDEX = /^(0|[1-9]\d*)$/;

export class BoundsProbe {
  /** Pass this to the view instead of the raw bytes. */
  readonly buf: Uint8Array;
  /** The window accesses must stay in (by default the whole array). */
  lo = 0;
  hi: number;
  /** The first index touched outside the window, or -1. */
  bad = -1;

  constructor(bytes: Uint8Array) {
    this.hi = bytes.length;
    const touch = (k: string | symbol): void => {
      if (typeof k !== 'string' || !INDEX.test(k)) return;
      const i = Number(k);
      if ((i < this.lo || i >= this.hi) && this.bad === -1) this.bad = i;
    };
    this.buf = new Proxy(bytes, {
      get(t, k) {
        touch(k);
        const v: unknown = Reflect.get(t, k);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
      set(t, k, v) {
        touch(k);
        return Reflect.set(t, k, v);
      },
    });
  }

  /** Sets the window to [lo, hi) and forgets earlier violations. */
  window(lo: number, hi: number): this {
    this.lo = lo;
    this.hi = hi;
    this.bad = -1;
    return this;
  }
}

/** Names of the getters declared on `proto` (a class's prototype), in declaration order. */
export function getterNames(proto: object): string[] {
  const out: string[] = [];
  for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
    if (d.get !== undefined) out.push(name);
  }
  return out;
}

/** Reads the getters `names` of `obj`; returns the values (so the reads cannot be optimised out). */
export function readGetters(obj: object, names: readonly string[]): unknown[] {
  const rec = obj as Record<string, unknown>;
  return names.map((n) => rec[n]);
}
