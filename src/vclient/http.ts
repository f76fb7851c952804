/**
 * HTTP over the virtual network, for the two HTTP stacks Node users have:
 *
 *   undici / fetch:  createDispatcher(client) is an undici `Agent` whose `connect` function dials
 *                    through the Client (and wraps the Conn in TLS for https:); createFetch(client)
 *                    is `fetch` bound to it.
 *   node:http(s):    new VirtualHttpAgent(client) / new VirtualHttpsAgent(client), whose
 *                    `createConnection` dials through the Client; pass them as `agent`.
 *
 * TLS is node:tls over the Conn (`tls.connect({ socket: conn, servername })`): the Conn is a
 * plain Duplex, which TLSSocket accepts. undici's connect callback is called only after the
 * virtual handshake (and the TLS one), never synchronously: undici 7 stalls on a synchronous one.
 * Not supported: HTTP/2 (ALPN offers http/1.1 only), proxies, Unix sockets.
 */

import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import type { Client } from './client.js';
import type { VConn } from './socket-shape.js';

export interface DispatcherOptions {
  /** Options for https: connections (ca, rejectUnauthorized, ...), over { servername, ALPN http/1.1 }. */
  tls?: tls.ConnectionOptions;
  /** Per-connection dial timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** Further undici Agent options (keepAliveTimeout, connections, ...); `connect` is ours. */
  agent?: Omit<Agent.Options, 'connect'>;
}

/** Strips the brackets of an IPv6 URL host. */
function bareHost(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function isIpLiteral(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}

/**
 * Dials `host`:`port` through `client`, then TLS when `secure`; calls `cb` once (asynchronously).
 */
function dialFor(
  client: Client,
  host: string,
  port: number,
  secure: boolean,
  tlsOpts: tls.ConnectionOptions | undefined,
  timeoutMs: number,
  cb: (err: Error | null, sock: Duplex | null) => void,
): void {
  let called = false;
  const once = (err: Error | null, sock: Duplex | null): void => {
    if (called) return;
    called = true;
    cb(err, sock);
  };
  client.connect({ host, port, timeoutMs }).then(
    (conn: VConn) => {
      if (!secure) return once(null, conn);
      const s = tls.connect({
        ALPNProtocols: ['http/1.1'],
        ...tlsOpts,
        socket: conn,
        servername: tlsOpts?.servername ?? (isIpLiteral(host) ? undefined : host),
      });
      s.once('secureConnect', () => once(null, s));
      s.once('error', (err) => {
        conn.destroy();
        once(err, null);
      });
    },
    (err: Error) => once(err, null),
  );
}

/** An undici Dispatcher (an `Agent`) whose connections go through `client`. */
export function createDispatcher(client: Client, opts: DispatcherOptions = {}): Agent {
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  return new Agent({
    ...opts.agent,
    connect(o, cb) {
      const secure = o.protocol === 'https:';
      const port = o.port !== '' && o.port !== undefined ? Number(o.port) : secure ? 443 : 80;
      const tlsOpts = o.servername !== undefined && o.servername !== null && o.servername !== '' ? { ...opts.tls, servername: opts.tls?.servername ?? o.servername } : opts.tls;
      dialFor(client, bareHost(o.hostname), port, secure, tlsOpts, timeoutMs, (err, sock) => {
        if (err !== null) cb(err, null);
        else cb(null, sock as Socket);
      });
    },
  });
}

export type VirtualFetch = (input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) => ReturnType<typeof undiciFetch>;

/** `fetch` over `dispatcher` (default: a new one for `client`). */
export function createFetch(client: Client, dispatcher: Dispatcher = createDispatcher(client)): VirtualFetch {
  return (input, init) => undiciFetch(input, { ...init, dispatcher });
}

type CreateCb = (err: Error | null, socket: Duplex) => void;

/** An http.Agent whose sockets are Conns dialled through `client`; keep-alive on by default, as Node's global agent since 19. */
export class VirtualHttpAgent extends http.Agent {
  readonly client: Client;
  private readonly timeoutMs: number;
  constructor(client: Client, opts: http.AgentOptions & { connectTimeoutMs?: number } = {}) {
    super({ keepAlive: true, ...opts });
    this.client = client;
    this.timeoutMs = opts.connectTimeoutMs ?? 10_000;
  }

  // Node's Agent calls createConnection(options, cb) and waits for cb when it returns nothing.
  override createConnection(options: { host?: string | null; hostname?: string | null; port?: number | string | null }, cb: CreateCb): undefined {
    const host = bareHost(options.hostname ?? options.host ?? 'localhost');
    dialFor(this.client, host, Number(options.port ?? 80), false, undefined, this.timeoutMs, (err, s) => cb(err, s as Duplex));
    return undefined;
  }
}

/** As VirtualHttpAgent, with TLS over each Conn (the request's TLS options apply). */
export class VirtualHttpsAgent extends https.Agent {
  readonly client: Client;
  private readonly timeoutMs: number;
  constructor(client: Client, opts: https.AgentOptions & { connectTimeoutMs?: number } = {}) {
    super({ keepAlive: true, ...opts });
    this.client = client;
    this.timeoutMs = opts.connectTimeoutMs ?? 10_000;
  }

  override createConnection(options: tls.ConnectionOptions & { hostname?: string | null }, cb: CreateCb): undefined {
    const host = bareHost(options.hostname ?? options.host ?? 'localhost');
    const { host: _h, port: _p, path: _path, socket: _s, ...tlsOpts } = options as tls.ConnectionOptions & { path?: string };
    dialFor(this.client, host, Number(options.port ?? 443), true, tlsOpts, this.timeoutMs, (err, s) => cb(err, s as Duplex));
    return undefined;
  }
}
