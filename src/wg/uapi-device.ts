/**
 * The UAPI (uapi.ts) applied to a WgDevice: `uapiState` for a get, `applyUapiSet` for a set, and
 * `WgUapi`, which answers whole requests one at a time (wireguard-go's ipcMutex), as
 * uapi-server.ts's connections hand them over.
 *
 * A set is all or nothing where it can be, which is stricter than wireguard-go:
 *
 *   1. parse and check every line (uapi.ts): a malformed request changes nothing (wireguard-go
 *      applies line by line and stops at the bad one, keeping what came before);
 *   2. check what depends on the device: a zero private key (a WgDevice always has one), the
 *      peer count after the request (simulated in order: replace_peers, remove, update_only),
 *      and whether listen_port needs a rebind nobody can do (EOPNOTSUPP). Failures change nothing;
 *   3. rebind for listen_port (the one asynchronous, fallible step: EADDRINUSE changes nothing);
 *   4. apply the rest in one synchronous run, so packets never see half a request: fwmark, the
 *      private key, replace_peers, then each peer section in order, its persistent keepalive
 *      last (turning it on sends a keepalive, as wireguard-go's handlePostConfig).
 *
 * What can still fail in step 4 leaves the earlier changes in place, as wireguard-go does: an
 * AllowedIPs table overflowing (2^20 prefixes, or 4096 per peer with isolatePeers), or a peer
 * enrolled by onUnknownPeer during the rebind's await taking the last slot. Both answer EINVAL.
 */

import { ClosedError, PktError } from '../errors.js';
import { DgramBind } from './bind-udp.js';
import { formatEndpoint, type WgBind } from './bind.js';
import type { WgPeerConfig } from './config.js';
import { keyFromHex, keyPairFromPrivate, keyToHex, toKey, type KeyPair } from './crypto.js';
import type { WgDevice } from './device.js';
import { PeerStat, type WgPeer } from './peer.js';
import {
  UapiErrno, ZERO_KEY_HEX, formatUapiGet, parseUapiSet, type UapiDeviceState, type UapiFailure, type UapiPeerSet, type UapiPeerState, type UapiSet,
} from './uapi.js';

/** Opens the outer side on `port` for a listen_port change (wireguard-go's BindUpdate). */
export type UapiRebind = (port: number, device: WgDevice) => Promise<{ bind: WgBind; port: number }>;

export interface UapiApplyOptions {
  /**
   * Reopens the outer side on another port. Default: when the device's bind is a DgramBind, a new
   * DgramBind on the same address and family; otherwise a listen_port change answers EOPNOTSUPP.
   * A same-port listen_port (wg setconf sends it every time) never rebinds.
   */
  rebind?: UapiRebind | null;
}

/** A set's outcome: errno 0, or the failure with a message for logs. */
export type UapiSetOutcome = { ok: true; errno: 0 } | UapiFailure;

/** The device as a UAPI get reports it. */
export function uapiState(device: WgDevice): UapiDeviceState {
  return {
    privateKey: keyToHex(device.identity.keyPair.privateKey),
    listenPort: device.listenPort,
    fwmark: device.fwmark,
    peers: device.peerList().map((p) => peerState(device, p)),
  };
}

function peerState(device: WgDevice, p: WgPeer): UapiPeerState {
  const ms = p.lastHandshakeWallMs;
  const sec = Math.floor(ms / 1000);
  return {
    publicKey: keyToHex(p.publicKey),
    presharedKey: keyToHex(p.handshake.psk),
    endpoint: p.endpoint[0] === 0 ? null : formatEndpoint(p.endpoint),
    lastHandshakeSec: sec,
    lastHandshakeNsec: Math.round((ms - sec * 1000) * 1e6),
    txBytes: p.stats[PeerStat.TxBytes]!,
    rxBytes: p.stats[PeerStat.RxBytes]!,
    persistentKeepalive: p.persistentKeepaliveMs / 1000,
    allowedIps: device.allowedIpsOf(p).map(String),
  };
}

/**
 * Replaces the device's private key (wg set private-key; wireguard-go SetPrivateKey): a peer
 * holding the new public key is removed, every peer's static-static secret is recomputed, its
 * handshake forgotten, and its keypairs stop sending (the next packet starts a new handshake).
 * The same key again changes nothing.
 * @throws {PktTypeError} on a malformed key; {ClosedError} after close.
 */
export function setPrivateKey(device: WgDevice, privateKey: Uint8Array | string): void {
  useKeyPair(device, keyPairFromPrivate(toKey('privateKey', privateKey)));
}

function useKeyPair(device: WgDevice, kp: KeyPair): void {
  const id = device.identity;
  if (sameKey(kp.publicKey, id.publicKey)) return;
  if (device.peer(kp.publicKey) !== null) device.removePeer(kp.publicKey);
  id.setKeyPair(kp);
  for (const p of device.peerList()) {
    p.handshake.rederive(id);
    p.expireCurrentKeypairs();
  }
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < 32; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** The default rebind: a DgramBind again, same address, new port. */
function defaultRebind(device: WgDevice): UapiRebind | null {
  const old = device.bind;
  if (!(old instanceof DgramBind)) return null;
  return async (port) => {
    const a = old.socket.address();
    const bind = await DgramBind.open({ address: a.address, port, type: a.family === 'IPv6' ? 'udp6' : 'udp4' });
    return { bind, port: bind.port };
  };
}

/** Step 2: what the device must accept before anything changes. */
function precheck(device: WgDevice, set: UapiSet, kp: KeyPair | null): UapiFailure | null {
  if (set.privateKey === ZERO_KEY_HEX) return { ok: false, errno: UapiErrno.Invalid, message: 'uapi: private_key: a WgDevice cannot be without a private key' };
  const ours = keyToHex(kp?.publicKey ?? device.publicKey);
  const live = new Set(set.replacePeers ? [] : device.peerList().map((p) => keyToHex(p.publicKey)));
  live.delete(ours); // a new private key removes the peer that has its public key
  for (const s of set.peers) {
    if (s.publicKey === ours) continue;
    if (s.remove) live.delete(s.publicKey);
    else if (!s.updateOnly || live.has(s.publicKey)) live.add(s.publicKey);
    if (live.size > device.maxPeers) return { ok: false, errno: UapiErrno.Invalid, message: `uapi: at most ${device.maxPeers} peers` };
  }
  return null;
}

/**
 * Applies a parsed set to `device` (the steps in the file header). Never throws; resolves to
 * errno 0 or the failure.
 */
export async function applyUapiSet(device: WgDevice, set: UapiSet, opts: UapiApplyOptions = {}): Promise<UapiSetOutcome> {
  try {
    const kp = set.privateKey === undefined || set.privateKey === ZERO_KEY_HEX ? null : keyPairFromPrivate(keyFromHex(set.privateKey));
    const bad = precheck(device, set, kp);
    if (bad !== null) return bad;
    let rebound: { bind: WgBind; port: number } | null = null;
    if (set.listenPort !== undefined && set.listenPort !== device.listenPort) {
      const rebind = opts.rebind ?? defaultRebind(device);
      if (rebind === null) return { ok: false, errno: UapiErrno.NotSupported, message: 'uapi: listen_port: this device\'s bind cannot be reopened on another port (give serveUapi a rebind)' };
      try {
        rebound = await rebind(set.listenPort, device);
      } catch (err) {
        return { ok: false, errno: UapiErrno.AddrInUse, message: `uapi: listen_port ${set.listenPort}: ${(err as Error).message}` };
      }
      try {
        device.rebind(rebound.bind, rebound.port);
      } catch (err) {
        rebound.bind.close();
        return { ok: false, errno: err instanceof ClosedError ? UapiErrno.IO : UapiErrno.Invalid, message: `uapi: listen_port: ${(err as Error).message}` };
      }
    }
    if (set.fwmark !== undefined) device.fwmark = set.fwmark;
    if (kp !== null) useKeyPair(device, kp);
    if (set.replacePeers) for (const p of device.peerList()) device.removePeer(p.publicKey);
    for (const s of set.peers) applyPeer(device, s);
    return { ok: true, errno: 0 };
  } catch (err) {
    const code = err instanceof PktError ? err.code : '';
    return { ok: false, errno: code === 'ERR_PKT_CLOSED' ? UapiErrno.IO : code === '' ? UapiErrno.Unknown : UapiErrno.Invalid, message: `uapi: set: ${(err as Error).message}` };
  }
}

function applyPeer(device: WgDevice, s: UapiPeerSet): void {
  const key = s.publicKey;
  if (key === keyToHex(device.publicKey)) return; // our own key: ignored, as wireguard-go's dummy peer
  const existed = device.peer(key) !== null;
  if (s.remove) {
    if (existed) device.removePeer(key);
    return;
  }
  if (s.updateOnly && !existed) return;
  const cfg: WgPeerConfig = { publicKey: key };
  if (s.presharedKey !== undefined) cfg.presharedKey = s.presharedKey;
  if (s.endpoint !== undefined) cfg.endpoint = s.endpoint;
  const peer = device.addPeer(cfg);
  // Allowed IPs in request order; runs of additions go in one addPeer call.
  let adds: string[] = [];
  const flush = (): void => {
    if (adds.length > 0) device.addPeer({ publicKey: key, allowedIps: adds });
    adds = [];
  };
  for (const a of s.allowedIps) {
    if (a.op === 'add') {
      adds.push(a.prefix);
      continue;
    }
    flush();
    if (a.op === 'replace') device.setAllowedIps(key, []);
    else device.setAllowedIps(key, device.allowedIpsOf(peer).filter((p) => p.toString() !== a.prefix));
  }
  flush();
  // Last, as wireguard-go's handlePostConfig: turning keepalive on sends one now that the
  // endpoint is set; packets staged while there was no endpoint go (after a handshake).
  if (s.persistentKeepalive !== undefined) device.addPeer({ publicKey: key, persistentKeepalive: s.persistentKeepalive });
  if (peer.staged.count > 0 && peer.endpoint[0] !== 0 && peer.current === null) device.connect(key);
}

/**
 * Answers whole UAPI requests for one device, one at a time: a set waiting on a rebind holds the
 * requests behind it back, from every connection. Unsafe to share between devices.
 */
export class WgUapi {
  readonly device: WgDevice;
  readonly #opts: UapiApplyOptions;
  #tail: Promise<unknown> = Promise.resolve();
  /** Called with the message of each refused set (default: none). */
  onError: ((message: string, errno: number) => void) | null = null;

  constructor(device: WgDevice, opts: UapiApplyOptions = {}) {
    this.device = device;
    this.#opts = opts;
  }

  /** A get's answer, `errno=0` and the empty line included. */
  get(): string {
    return `${formatUapiGet(uapiState(this.device))}errno=0\n\n`;
  }

  /** A set's answer for the lines after `set=1` (up to the empty line): `errno=N\n\n`. Never rejects. */
  set(body: string): Promise<string> {
    return this.#serial(async () => {
      const parsed = parseUapiSet(body);
      const r = parsed.ok ? await applyUapiSet(this.device, parsed.set, this.#opts) : parsed;
      if (!r.ok && this.onError !== null) this.onError(r.message, r.errno);
      return `errno=${r.errno}\n\n`;
    });
  }

  /** A get, queued behind any set in progress. */
  getQueued(): Promise<string> {
    return this.#serial(async () => this.get());
  }

  #serial(job: () => Promise<string>): Promise<string> {
    const run = this.#tail.then(job, job);
    this.#tail = run.catch(() => undefined);
    return run.catch(() => `errno=${UapiErrno.Unknown}\n\n`); // jobs do not throw; a bug must not close the socket either
  }
}
