/**
 * The UAPI on a Unix socket, where wg(8) looks for userspace interfaces
 * (wireguard-tools `ipc-uapi-unix.h`: `/var/run/wireguard/<ifname>.sock`; wireguard-go
 * `ipc/uapi_unix.go` makes the directory 0755 and the socket owner-only).
 *
 *   wg(8) --connect--> <dir>/<name>.sock --request blocks--> WgUapi (uapi-device.ts) --> WgDevice
 *
 * Each connection carries any number of requests, answered in order: `get=1\n\n`, or `set=1\n`
 * and lines up to an empty line. Framing errors end the connection after an answer: an unknown
 * operation line or a get with anything but an empty line after it (EINVAL; wireguard-go closes
 * without one for the first), or a request larger than `maxRequestBytes` (EMSGSIZE). While a
 * request runs, the connection is paused, so a client cannot queue more than one read's worth.
 *
 * Listening replaces a stale socket (one nobody accepts on) and refuses a live one, as
 * wireguard-go; `close()` ends every connection and removes the socket file.
 */

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { PktError, PktTypeError, intInRange } from '../errors.js';
import type { WgDevice } from './device.js';
import { UapiErrno } from './uapi.js';
import { WgUapi, type UapiApplyOptions } from './uapi-device.js';

/** wireguard-tools' SOCK_PATH (RUNSTATEDIR "/wireguard/") and wireguard-go's socketDirectory. */
export const UAPI_SOCKET_DIR = '/var/run/wireguard';
/** Linux IFNAMSIZ - 1: wg(8) refuses longer interface names. */
const IFNAME_MAX = 15;
/** Longest operation line (`get=1` / `set=1`) plus slack: more without a newline is not a request. */
const OP_LINE_MAX = 16;

export interface UapiServerOptions extends UapiApplyOptions {
  /** Interface name: the socket is `<dir>/<name>.sock`, where wg(8) finds it. */
  name?: string;
  /** Socket directory (default /var/run/wireguard). */
  dir?: string;
  /** The socket path, instead of name and dir. */
  path?: string;
  /** Bound on one request, and on what a connection may buffer (default 4 MiB: about 20000 peers with an allowed IP each). */
  maxRequestBytes?: number;
  /** Bound on simultaneous connections (default 32). */
  maxConnections?: number;
  /** Receives each refused request's message (the answer carries only the errno). */
  onError?: ((message: string, errno: number) => void) | null;
}

/** A listening UAPI socket. */
export class UapiServer {
  readonly path: string;
  readonly uapi: WgUapi;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #maxRequest: number;
  readonly #ino: number;
  #closed: Promise<void> | null = null;

  /** Use `serveUapi`. */
  constructor(path: string, server: Server, uapi: WgUapi, maxRequestBytes: number) {
    this.path = path;
    this.#server = server;
    this.uapi = uapi;
    this.#maxRequest = maxRequestBytes;
    this.#ino = lstatSync(path).ino;
    server.on('connection', (s) => this.#accept(s));
  }

  /** Open connections now (tests). */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Stops listening, ends every connection, removes the socket file. Idempotent. */
  close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    this.#closed = new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
      try {
        // Only our socket: another server may have replaced it since.
        if (lstatSync(this.path).ino === this.#ino) unlinkSync(this.path);
      } catch {
        /* already gone */
      }
    });
    return this.#closed;
  }

  #accept(s: Socket): void {
    this.#sockets.add(s);
    s.on('close', () => this.#sockets.delete(s));
    s.on('error', () => {
      /* a client that vanished: its requests die with it */
    });
    let pending: Buffer = Buffer.alloc(0);
    let busy = false;
    let ended = false;
    const refuse = (errno: number, message: string): void => {
      this.uapi.onError?.(message, errno);
      pending = Buffer.alloc(0);
      if (!s.destroyed && !s.writableEnded) s.end(`errno=${errno}\n\n`);
    };
    // Requests one at a time: the connection is paused while one runs.
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      s.pause();
      while (!s.destroyed && !s.writableEnded) {
        const r = nextRequest(pending, this.#maxRequest);
        if (r.kind === 'incomplete') {
          if (ended) s.end();
          break;
        }
        if (r.kind === 'error') {
          refuse(r.errno, r.message);
          break;
        }
        pending = pending.subarray(r.used);
        const reply = r.kind === 'get' ? await this.uapi.getQueued() : await this.uapi.set(r.body);
        if (!s.destroyed && !s.writableEnded) s.write(reply);
      }
      busy = false;
      if (!s.destroyed && !s.writableEnded && !ended) s.resume();
    };
    s.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      if (pending.length > this.#maxRequest + OP_LINE_MAX + 2) return refuse(UapiErrno.MsgSize, `uapi: request over ${this.#maxRequest} bytes`);
      void pump();
    });
    s.on('end', () => {
      ended = true;
      void pump();
    });
  }
}

type NextRequest =
  | { kind: 'incomplete' }
  | { kind: 'get'; used: number }
  | { kind: 'set'; used: number; body: string }
  | { kind: 'error'; errno: number; message: string };

/** The first whole request in `buf`, if there is one (framing only: the body is parsed later). */
export function nextRequest(buf: Uint8Array, maxRequestBytes: number): NextRequest {
  const NL = 0x0a;
  let op = -1;
  for (let i = 0; i < buf.length && i <= OP_LINE_MAX; i++) {
    if (buf[i] === NL) {
      op = i;
      break;
    }
  }
  if (op < 0) return buf.length > OP_LINE_MAX ? { kind: 'error', errno: UapiErrno.Invalid, message: 'uapi: no operation line' } : { kind: 'incomplete' };
  const name = Buffer.from(buf.buffer, buf.byteOffset, op).toString('latin1');
  if (name === 'get=1') {
    if (buf.length <= op + 1) return { kind: 'incomplete' };
    if (buf[op + 1] !== NL) return { kind: 'error', errno: UapiErrno.Invalid, message: 'uapi: trailing characters after get=1' };
    return { kind: 'get', used: op + 2 };
  }
  if (name !== 'set=1') return { kind: 'error', errno: UapiErrno.Invalid, message: `uapi: invalid operation ${JSON.stringify(name)}` };
  // The body ends at the first empty line: the first "\n\n" from the operation's own newline on.
  const end = Buffer.from(buf.buffer, buf.byteOffset, buf.length).indexOf('\n\n', op);
  if (end < 0) {
    return buf.length - op - 1 > maxRequestBytes ? { kind: 'error', errno: UapiErrno.MsgSize, message: `uapi: request over ${maxRequestBytes} bytes` } : { kind: 'incomplete' };
  }
  if (end - op - 1 > maxRequestBytes) return { kind: 'error', errno: UapiErrno.MsgSize, message: `uapi: request over ${maxRequestBytes} bytes` };
  const body = end === op ? '' : Buffer.from(buf.buffer, buf.byteOffset + op + 1, end - op).toString('utf8');
  return { kind: 'set', used: end + 2, body };
}

function socketPath(opts: UapiServerOptions): string {
  if (opts.path !== undefined) {
    if (typeof opts.path !== 'string' || opts.path === '') throw new PktTypeError('serveUapi: path must be a non-empty string');
    return opts.path;
  }
  const name = opts.name;
  if (typeof name !== 'string' || name === '' || name.length > IFNAME_MAX || name.includes('/') || name === '.' || name === '..') {
    throw new PktTypeError(`serveUapi: expected an interface name of 1 to ${IFNAME_MAX} characters without "/" (or a path), got ${JSON.stringify(name)}`);
  }
  return join(opts.dir ?? UAPI_SOCKET_DIR, `${name}.sock`);
}

/** True when something accepts connections on the Unix socket at `path`. */
function live(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Serves the UAPI of `device` on a Unix socket: `/var/run/wireguard/<name>.sock` with `name`
 * (where `wg show <name>` looks), or `path`. The socket is owner-only (0600), its directory made
 * 0755 if missing.
 * @throws {PktTypeError} on a bad name or path; {PktError} ERR_PKT_IO when the socket is in use
 * by a live server, the path is not a socket, or listening fails.
 */
export async function serveUapi(device: WgDevice, opts: UapiServerOptions): Promise<UapiServer> {
  if (opts === null || typeof opts !== 'object') throw new PktTypeError('serveUapi: options with a name or a path are required');
  const path = socketPath(opts);
  const maxRequest = intInRange('serveUapi maxRequestBytes', opts.maxRequestBytes ?? 4 << 20, 64, 1 << 30);
  const maxConnections = intInRange('serveUapi maxConnections', opts.maxConnections ?? 32, 1, 65536);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let stale = false;
  try {
    const st = lstatSync(path);
    if (!st.isSocket()) throw new PktError('ERR_PKT_IO', `serveUapi: ${path} exists and is not a socket`);
    stale = true;
  } catch (err) {
    if (err instanceof PktError) throw err;
  }
  if (stale) {
    if (await live(path)) throw new PktError('ERR_PKT_IO', `serveUapi: ${path} is in use by a running server`);
    unlinkSync(path);
  }
  const server = createServer({ allowHalfOpen: true });
  server.maxConnections = maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new PktError('ERR_PKT_IO', `serveUapi: listen on ${path}: ${err.message}`, { cause: err })));
    server.listen(path, () => resolve());
  });
  // Created with the process umask (022 leaves others without write, so without connect): now owner-only.
  chmodSync(path, 0o600);
  const uapi = new WgUapi(device, opts);
  uapi.onError = opts.onError ?? null;
  return new UapiServer(path, server, uapi, maxRequest);
}
