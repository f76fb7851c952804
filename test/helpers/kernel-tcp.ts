/**
 * The kernel's side of bulk TCP tests: small Node programs run inside a network namespace
 * (`ip netns exec NS node -e ...`) that hash what they send and receive, and the vtcp ends that
 * meet them (a hashing sink, a writer that honours back-pressure). Used by test/interop/vtcp.test.ts
 * and test/interop/wg.test.ts.
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Conn } from '../../src/vtcp/conn.js';
import type { TcpStack } from '../../src/vtcp/stack.js';

/** A kernel program's last line (JSON). */
export interface KernelResult {
  n?: number;
  sha?: string;
  sent?: number;
  got?: number;
  rsha?: string;
  ms?: number;
  peer?: string;
  options?: number;
  sndWscale?: number;
  rcvWscale?: number;
  error?: string;
}

/** Kernel side: a server on host:port that hashes what it gets, echoes it (mode 'echo') or drops it ('sink'), once. */
export const KERNEL_SERVER = `
const net = require('net'), crypto = require('crypto');
const [host, port, mode] = process.argv.slice(1);
const srv = net.createServer((s) => {
  // The peer's address now: once the socket has closed (it may before end's callback) it is gone.
  const peer = s.remoteAddress;
  const h = crypto.createHash('sha256'); let n = 0; const t0 = process.hrtime.bigint();
  s.on('data', (d) => { h.update(d); n += d.length; if (mode === 'echo' && !s.write(d)) { s.pause(); s.once('drain', () => s.resume()); } });
  s.on('end', () => { const ms = Number(process.hrtime.bigint() - t0) / 1e6; s.end(() => { console.log(JSON.stringify({ n, sha: h.digest('hex'), ms, peer })); srv.close(); }); });
  s.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(2); });
});
srv.listen(Number(port), host, () => console.log('READY'));
`;

/** Kernel side: connects to host:port, sends `total` random bytes, reads the reply to the end. */
export const KERNEL_CLIENT = `
const net = require('net'), crypto = require('crypto');
const [host, port, totalText] = process.argv.slice(1); const total = Number(totalText);
const h = crypto.createHash('sha256'); const rh = crypto.createHash('sha256'); let sent = 0, got = 0;
const t0 = process.hrtime.bigint();
const s = net.connect(Number(port), host, () => {
  console.log('CONNECTED');
  const pump = () => { while (sent < total) { const b = crypto.randomBytes(Math.min(65536, total - sent)); h.update(b); sent += b.length; if (!s.write(b)) { s.once('drain', pump); return; } } s.end(); };
  pump();
});
s.on('data', (d) => { rh.update(d); got += d.length; });
s.on('close', () => { const ms = Number(process.hrtime.bigint() - t0) / 1e6; console.log(JSON.stringify({ sent, sha: h.digest('hex'), got, rsha: rh.digest('hex'), ms })); });
s.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(2); });
`;

/**
 * Runs `script` with `args` in namespace `ns` under `program` (node -e by default; python3 -c
 * works too); `ready` resolves at its first line, `result` with its last (JSON). Killed at teardown.
 */
export function kernelNode(t: ExecutionContext, ns: string, script: string, args: string[], program = process.execPath): { child: ChildProcess; ready: Promise<string>; result: Promise<KernelResult> } {
  const child = spawn('ip', ['netns', 'exec', ns, program, program === process.execPath ? '-e' : '-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  let gotReady: (s: string) => void = () => {};
  const ready = new Promise<string>((r) => (gotReady = r));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    const nl = out.indexOf('\n');
    if (nl >= 0) gotReady(out.slice(0, nl));
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const result = new Promise<KernelResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`kernel-side node exited ${code}: ${out}${err}`));
      resolve(JSON.parse(last) as KernelResult);
    });
  });
  result.catch(() => {}); // a test that fails early kills the program: not an unhandled rejection
  return { child, ready, result };
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Deterministic bytes (xorshift32). */
export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

/** Writes `data` in chunks, waiting for 'drain' when the Conn asks, then ends it. */
export async function writeAll(c: Conn, data: Buffer, chunk = 256 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!c.write(data.subarray(off, Math.min(data.length, off + chunk)))) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          c.off('drain', done);
          c.off('error', done);
          if (err === undefined) resolve();
          else reject(err);
        };
        c.on('drain', done);
        c.on('error', done);
      });
    }
  }
  c.end();
}

/** A vtcp sink on `port`: hashes what the first connection sends; resolves at its end with the time from its first byte. */
export function sinkServer(stack: TcpStack, port: number): Promise<{ n: number; sha: string; ms: number }> {
  const server = stack.listen(port);
  return new Promise((resolve, reject) => {
    server.once('connection', (c: Conn) => {
      const h = createHash('sha256');
      let n = 0;
      let t0 = 0;
      c.on('data', (d: Buffer) => {
        if (n === 0) t0 = performance.now();
        h.update(d);
        n += d.length;
      });
      c.on('end', () => {
        const ms = performance.now() - t0;
        c.end();
        resolve({ n, sha: h.digest('hex'), ms });
      });
      c.on('error', reject);
    });
  });
}
