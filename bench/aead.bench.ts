/**
 * Batched AEAD rows (src/native/aead.ts): the addon sealing and opening slots of a
 * SharedArrayBuffer in place, against the node:crypto fallback (one Cipheriv per packet, what a
 * tunnel gets without the addon), at 1420-byte packets (a WireGuard payload under a 1500 MTU) in
 * batches of 64, 16 and 1, and at 64/576/1500 bytes in batches of 64. One row operation is one
 * packet. `aeadReport` then runs `openssl speed -evp` (the per-core limit: C, one reused context,
 * no JavaScript) and writes the targets table.
 *
 * Opening in place destroys the ciphertext, so an open row needs a fresh sealed packet per
 * operation without paying a copy. ChaCha20 and GCM encrypt by XOR with a keystream, so with one
 * nonce the plaintext P and its ciphertext C map to each other, and sealing C (same nonce) gives
 * back P with the tag of P taken as a ciphertext. Each slot keeps both tags apart (`tagOffs`):
 * opening C with tag(C) yields P, opening P with tag(P) yields C, and the rows alternate, every
 * open verifying its tag and succeeding (checked before timing, and counted while timing).
 */

import { execFileSync } from 'node:child_process';
import { AEAD_TAG_LEN, createAead, type Aead, type AeadAlgorithm } from '../src/native/aead.js';
import { hasNative } from '../src/native/index.js';
import { median, type Row, type RowResult } from './harness.js';

const SLOT = 2048; // a ring slot: 64 B headroom, the packet, two tags
const HEADROOM = 64;
const BATCH = 64;

const LABEL: Record<AeadAlgorithm, string> = { 'chacha20-poly1305': 'ChaCha20-Poly1305', 'aes-256-gcm': 'AES-256-GCM' };

/** Slots of `size`-byte packets in a SharedArrayBuffer, and their per-slot arrays. */
class Slots {
  readonly buf: Uint8Array;
  readonly offs: Int32Array;
  readonly lens: Int32Array;
  readonly tagA: Int32Array;
  readonly tagB: Int32Array;
  readonly nonces: Uint8Array;
  readonly status: Uint8Array;

  constructor(n: number, size: number) {
    this.buf = new Uint8Array(new SharedArrayBuffer(n * SLOT));
    this.offs = new Int32Array(n);
    this.lens = new Int32Array(n);
    this.tagA = new Int32Array(n);
    this.tagB = new Int32Array(n);
    this.nonces = new Uint8Array(n * 12);
    this.status = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      this.offs[i] = i * SLOT + HEADROOM;
      this.lens[i] = size;
      this.tagA[i] = i * SLOT + HEADROOM + size;
      this.tagB[i] = i * SLOT + HEADROOM + size + AEAD_TAG_LEN;
      for (let j = 0; j < size; j++) this.buf[this.offs[i]! + j] = (i * 31 + j) & 0xff;
      this.nonces[i * 12 + 4] = i;
    }
  }

  /**
   * Makes the slots openable forever: seal P -> C with tag(C) at A, seal C -> P with tag(P) at B.
   * The slots then hold P; opening with B yields C, then opening with A yields P, and so on.
   */
  prepareOpen(a: Aead, n: number): void {
    a.sealBatch(this.buf, this.offs, this.lens, n, this.nonces, null, this.tagA);
    a.sealBatch(this.buf, this.offs, this.lens, n, this.nonces, null, this.tagB);
    for (const tags of [this.tagB, this.tagA]) {
      if (a.openBatch(this.buf, this.offs, this.lens, n, this.nonces, this.status, null, tags) !== 0) throw new Error('bench: prepared slots did not open');
    }
  }
}

function sealRow(alg: AeadAlgorithm, native: boolean, size: number, batch: number): Row {
  const a = createAead(alg, new Uint8Array(32).fill(0x42), { native });
  const s = new Slots(batch, size);
  const calls = BATCH / batch; // every row does 64 packets per fn call
  return {
    name: `${LABEL[alg]} seal ${size} B, ${native ? `addon batch ${batch}` : 'node:crypto per packet'}`,
    fn: () => {
      for (let k = 0; k < calls; k++) a.sealBatch(s.buf, s.offs, s.lens, batch, s.nonces);
      return s.buf[HEADROOM];
    },
    inner: BATCH,
    bytes: size,
    baseline: native ? `${LABEL[alg]} seal ${size} B, node:crypto per packet` : undefined,
    allocates: !native,
  };
}

function openRow(alg: AeadAlgorithm, native: boolean, size: number, batch: number): Row {
  const a = createAead(alg, new Uint8Array(32).fill(0x42), { native });
  const s = new Slots(batch, size);
  s.prepareOpen(a, batch);
  const calls = BATCH / batch;
  let useB = true;
  let failed = 0;
  return {
    name: `${LABEL[alg]} open ${size} B, ${native ? `addon batch ${batch}` : 'node:crypto per packet'}`,
    fn: () => {
      let f = 0;
      for (let k = 0; k < calls; k++) {
        f += a.openBatch(s.buf, s.offs, s.lens, batch, s.nonces, s.status, null, useB ? s.tagB : s.tagA);
        useB = !useB;
      }
      failed += f;
      if (failed !== 0) throw new Error(`bench: ${failed} packets failed to open`);
      return f;
    },
    inner: BATCH,
    bytes: size,
    baseline: native ? `${LABEL[alg]} open ${size} B, node:crypto per packet` : undefined,
    allocates: !native,
  };
}

/** The suite: addon rows only when the addon is built with `aead` (aeadReport says so otherwise). */
export function aeadRows(): Row[] {
  const addon = hasNative('aead');
  const rows: Row[] = [];
  for (const alg of ['chacha20-poly1305', 'aes-256-gcm'] as const) {
    if (addon) {
      rows.push(sealRow(alg, true, 1420, 64), openRow(alg, true, 1420, 64));
      for (const b of [16, 1]) rows.push(sealRow(alg, true, 1420, b), openRow(alg, true, 1420, b));
      for (const n of [64, 576, 1500]) rows.push(sealRow(alg, true, n, 64), openRow(alg, true, n, 64));
    }
    for (const n of [1420, 64, 576, 1500]) rows.push(sealRow(alg, false, n, 64), openRow(alg, false, n, 64));
  }
  return rows;
}

// --- openssl speed: the per-core limit ----------------------------------------------------------

/** ns per `size`-byte packet from `openssl speed -evp <alg> [-decrypt]` (machine-readable output). */
export function opensslSpeedNs(alg: AeadAlgorithm, size: number, decrypt: boolean): number {
  const args = ['speed', '-mr', '-evp', alg, '-bytes', String(size), '-seconds', '1'];
  if (decrypt) args.splice(1, 0, '-decrypt');
  const out = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // "+F:<n>:<name>:<bytes per second>" for the one size asked for.
  const line = out.split('\n').find((l) => l.startsWith('+F:'));
  const bps = line === undefined ? NaN : Number(line.split(':')[3]);
  if (!(bps > 0)) throw new Error(`bench: cannot parse openssl speed output:\n${out}`);
  return (size * 1e9) / bps;
}

function opensslVersion(): string {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const f2 = (x: number) => x.toFixed(2);

/**
 * After the rows: `openssl speed` at the same sizes (3 runs of 1 s at 1420 B, the target size,
 * 1 run elsewhere), a table of the addon against it, and the targets: batch-64 addon at least 5x
 * node:crypto per packet, and within 1.5x of openssl.
 */
export async function aeadReport(results: RowResult[]): Promise<string> {
  const ns = (name: string) => results.find((r) => r.name === name)?.nsPerOp ?? NaN;
  const version = opensslVersion();
  if (version === '') return '`openssl` is not installed: no per-core limit measured.';
  const addon = results.some((r) => r.name.includes('addon'));
  const lines = [
    `The limit: \`openssl speed -evp <alg> -bytes <size> -seconds 1\` (${version}; \`-decrypt\` for open), run by the bench after the rows, median of 3 runs at 1420 B, 1 run at the other sizes.`,
    '',
    '| Packet | openssl seal ns | addon batch-64 seal ns | addon / openssl | openssl open ns | addon batch-64 open ns | addon / openssl |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const targets: string[] = [];
  for (const alg of ['chacha20-poly1305', 'aes-256-gcm'] as const) {
    for (const size of [64, 576, 1420, 1500]) {
      const runs = size === 1420 ? 3 : 1;
      const sealLimit = median(Array.from({ length: runs }, () => opensslSpeedNs(alg, size, false)));
      const openLimit = median(Array.from({ length: runs }, () => opensslSpeedNs(alg, size, true)));
      const seal = ns(`${LABEL[alg]} seal ${size} B, addon batch 64`);
      const open = ns(`${LABEL[alg]} open ${size} B, addon batch 64`);
      lines.push(`| ${LABEL[alg]} ${size} B | ${f1(sealLimit)} | ${addon ? f1(seal) : '-'} | ${addon ? `${f2(seal / sealLimit)}x` : '-'} | ${f1(openLimit)} | ${addon ? f1(open) : '-'} | ${addon ? `${f2(open / openLimit)}x` : '-'} |`);
      if (size === 1420 && addon) {
        const nodeSeal = ns(`${LABEL[alg]} seal 1420 B, node:crypto per packet`);
        const nodeOpen = ns(`${LABEL[alg]} open 1420 B, node:crypto per packet`);
        const vsNode = Math.min(nodeSeal / seal, nodeOpen / open);
        const vsLimit = Math.max(seal / sealLimit, open / openLimit);
        targets.push(
          `| ${LABEL[alg]}: addon batch 64 at least 5x node:crypto per packet (1420 B, worse of seal and open) | ${f2(vsNode)}x (seal ${f2(nodeSeal / seal)}x, open ${f2(nodeOpen / open)}x) | ${vsNode >= 5 ? 'yes' : '**NO**'} |`,
          `| ${LABEL[alg]}: addon batch 64 within 1.5x of openssl speed (1420 B, worse of seal and open) | ${f2(vsLimit)}x (seal ${f2(seal / sealLimit)}x, open ${f2(open / openLimit)}x) | ${vsLimit <= 1.5 ? 'yes' : '**NO**'} |`,
        );
      }
    }
  }
  lines.push('');
  if (addon) {
    lines.push('| Target | This run | Met |', '| --- | --- | --- |', ...targets);
  } else {
    lines.push('The addon is not built with `aead` (npm run build:native -- --features aead): only the node:crypto rows ran, no target judged.');
  }
  return lines.join('\n');
}
