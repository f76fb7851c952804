/**
 * The WireGuard cross-platform configuration protocol ("UAPI",
 * https://www.wireguard.com/xplatform/#configuration-protocol; wireguard-go `device/uapi.go`,
 * wireguard-tools `ipc-uapi.h`) as a pure codec: text in, plain objects out, and back. No I/O
 * and no device here: uapi-device.ts applies a request to a WgDevice, uapi-server.ts serves the
 * Unix socket wg(8) talks to.
 *
 * A request is `get=1\n\n`, or `set=1\n` followed by `key=value\n` lines and an empty line. The
 * answer is `errno=N\n\n`, preceded for a get by the device's `key=value` lines. N is 0 or a
 * negative errno (wireguard-go writes `errno=-22`; wg(8) turns it into strerror).
 *
 *   set=1                          get=1
 *   private_key=<64 hex>           (empty line)
 *   listen_port=51820
 *   replace_peers=true             -> private_key=<hex>
 *   public_key=<64 hex>               listen_port=51820
 *   endpoint=192.0.2.1:51820          public_key=<hex>
 *   replace_allowed_ips=true          preshared_key=<hex>  protocol_version=1  endpoint=...
 *   allowed_ip=10.0.0.2/32            last_handshake_time_sec/_nsec  tx_bytes  rx_bytes
 *   (empty line)                      persistent_keepalive_interval  allowed_ip=... (each)
 *                                     errno=0
 *
 * Keys are 64 hex digits (written lowercase, read in either case, as wireguard-go's
 * hex.DecodeString). Device keys come before the first `public_key`; every key after it belongs
 * to that peer. Values are checked as wireguard-go checks them: ports and intervals 16-bit
 * decimal, fwmark 32-bit, booleans exactly `true`, `protocol_version` exactly `1`, `allowed_ip`
 * a prefix with its length (a leading `-` removes it), `endpoint` a numeric `ip:port` or
 * `[v6]:port` (wg resolves names before sending). A line without `=` is a protocol error
 * (EPROTO), anything else wrong is EINVAL.
 *
 * Parsing never throws and is linear in the input (test/wg/uapi.test.ts checks both).
 */

import { IpPrefix } from '../wire/addr.js';
import { formatEndpoint, parseEndpoint } from './bind.js';

/** errno values in UAPI answers: wireguard-go's `ipc/uapi_unix.go` set, plus two of ours (marked). */
export const UapiErrno = {
  Ok: 0,
  /** An I/O failure (wireguard-go IpcErrorIO). */
  IO: -5,
  /** A malformed value, an unknown key, a refused change (IpcErrorInvalid). */
  Invalid: -22,
  /** A line that is not `key=value` (IpcErrorProtocol). */
  Protocol: -71,
  /** The new listen port could not be bound (IpcErrorPortInUse). */
  AddrInUse: -98,
  /** Anything unexpected (IpcErrorUnknown: -55, ENOANO). */
  Unknown: -55,
  /** Ours: a request larger than the server's bound (EMSGSIZE). */
  MsgSize: -90,
  /** Ours: listen_port changed, but the device's bind cannot be reopened on another port (EOPNOTSUPP). */
  NotSupported: -95,
} as const;

/** What a get reports about one peer. Keys are lowercase hex. */
export interface UapiPeerState {
  publicKey: string;
  /** 64 zeros: none. */
  presharedKey: string;
  /** `ip:port` / `[v6]:port`, or null when none is known. */
  endpoint: string | null;
  /** Unix time of the latest handshake; 0 and 0: never. */
  lastHandshakeSec: number;
  lastHandshakeNsec: number;
  txBytes: number;
  rxBytes: number;
  /** Seconds, 0 = off. */
  persistentKeepalive: number;
  /** Masked prefixes, `10.0.0.0/24`. */
  allowedIps: string[];
}

/** What a get reports about the device. */
export interface UapiDeviceState {
  /** Lowercase hex, or null when the device has none (never the case for a WgDevice). */
  privateKey: string | null;
  /** 0 when unknown (then not reported, as wireguard-go omits a zero port). */
  listenPort: number;
  /** 0 = off (then not reported). */
  fwmark: number;
  peers: UapiPeerState[];
}

/** One `allowed_ip` or `replace_allowed_ips` line of a peer section, in request order. */
export type UapiAllowedIpOp = { op: 'add' | 'remove'; prefix: string } | { op: 'replace' };

/** One peer section of a set (`public_key=` and the lines after it). */
export interface UapiPeerSet {
  publicKey: string;
  /** `remove=true`: the peer goes (the section's other lines do nothing, as in wireguard-go). */
  remove: boolean;
  /** `update_only=true`: the section does nothing unless the peer exists. */
  updateOnly: boolean;
  presharedKey?: string;
  endpoint?: string;
  persistentKeepalive?: number;
  allowedIps: UapiAllowedIpOp[];
}

/** A parsed set request. Repeated device keys: the last one counts. */
export interface UapiSet {
  privateKey?: string;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  peers: UapiPeerSet[];
}

/** A refused request: the errno to answer and a message for logs (never sent on the socket). */
export interface UapiFailure {
  ok: false;
  errno: number;
  message: string;
}

export type UapiSetResult = { ok: true; set: UapiSet } | UapiFailure;
export type UapiGetResult = { ok: true; state: UapiDeviceState } | UapiFailure;

export const ZERO_KEY_HEX = '0'.repeat(64);
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const DECIMAL = /^[0-9]+$/;

/** A value as it may appear in a log line: bounded, quoted. Built on failure paths only. */
function shown(v: string): string {
  return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
}

function fail(errno: number, message: string): UapiFailure {
  return { ok: false, errno, message };
}

/** A decimal in [0, max] (strconv.ParseUint: digits only, leading zeros allowed), or -1. */
function decimal(v: string, max: number): number {
  if (v.length === 0 || v.length > 20 || !DECIMAL.test(v)) return -1;
  const n = Number(v);
  return n <= max ? n : -1;
}

/** A normalised prefix, or null. Requires the `/len`, as netip.ParsePrefix does. */
function prefix(v: string): string | null {
  if (v.indexOf('/') < 0) return null;
  try {
    return IpPrefix.parse(v).masked().toString();
  } catch {
    return null;
  }
}

/** A normalised endpoint, or null. */
function endpoint(v: string): string | null {
  try {
    return formatEndpoint(parseEndpoint(v));
  } catch {
    return null;
  }
}

/**
 * Parses the body of a set request: the `key=value` lines after `set=1`, up to the first empty
 * line or the end of `body`. Never throws; allocates in proportion to the input.
 */
export function parseUapiSet(body: string): UapiSetResult {
  const set: UapiSet = { replacePeers: false, peers: [] };
  let peer: UapiPeerSet | null = null;
  let pos = 0;
  const end = body.length;
  while (pos < end) {
    let nl = body.indexOf('\n', pos);
    if (nl < 0) nl = end;
    const line = body.slice(pos, nl);
    pos = nl + 1;
    if (line.length === 0) break; // a blank line ends the request
    const eq = line.indexOf('=');
    if (eq < 0) return fail(UapiErrno.Protocol, `uapi: expected key=value, got ${shown(line)}`);
    const key = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (key === 'public_key') {
      if (!HEX_KEY.test(v)) return fail(UapiErrno.Invalid, `uapi: public_key: expected 64 hex digits, got ${shown(v)}`);
      peer = { publicKey: v.toLowerCase(), remove: false, updateOnly: false, allowedIps: [] };
      set.peers.push(peer);
      continue;
    }
    const bad = peer === null ? deviceLine(set, key, v) : peerLine(peer, key, v);
    if (bad !== null) return bad;
  }
  return { ok: true, set };
}

function deviceLine(set: UapiSet, key: string, v: string): UapiFailure | null {
  switch (key) {
    case 'private_key':
      if (!HEX_KEY.test(v)) return fail(UapiErrno.Invalid, `uapi: private_key: expected 64 hex digits, got ${shown(v)}`);
      set.privateKey = v.toLowerCase();
      return null;
    case 'listen_port': {
      const n = decimal(v, 65535);
      if (n < 0) return fail(UapiErrno.Invalid, `uapi: listen_port: expected a port in [0, 65535], got ${shown(v)}`);
      set.listenPort = n;
      return null;
    }
    case 'fwmark': {
      const n = decimal(v, 0xffff_ffff);
      if (n < 0) return fail(UapiErrno.Invalid, `uapi: fwmark: expected a 32-bit unsigned integer, got ${shown(v)}`);
      set.fwmark = n;
      return null;
    }
    case 'replace_peers':
      if (v !== 'true') return fail(UapiErrno.Invalid, `uapi: replace_peers: expected true, got ${shown(v)}`);
      set.replacePeers = true;
      return null;
    default:
      return fail(UapiErrno.Invalid, `uapi: invalid device key ${shown(key)}`);
  }
}

function peerLine(peer: UapiPeerSet, key: string, v: string): UapiFailure | null {
  switch (key) {
    case 'remove':
    case 'update_only':
      if (v !== 'true') return fail(UapiErrno.Invalid, `uapi: ${key}: expected true, got ${shown(v)}`);
      if (key === 'remove') peer.remove = true;
      else peer.updateOnly = true;
      return null;
    case 'preshared_key':
      if (!HEX_KEY.test(v)) return fail(UapiErrno.Invalid, `uapi: preshared_key: expected 64 hex digits, got ${shown(v)}`);
      peer.presharedKey = v.toLowerCase();
      return null;
    case 'endpoint': {
      const e = endpoint(v);
      if (e === null) return fail(UapiErrno.Invalid, `uapi: endpoint: expected ip:port or [ipv6]:port, got ${shown(v)}`);
      peer.endpoint = e;
      return null;
    }
    case 'persistent_keepalive_interval': {
      const n = decimal(v, 65535);
      if (n < 0) return fail(UapiErrno.Invalid, `uapi: persistent_keepalive_interval: expected seconds in [0, 65535], got ${shown(v)}`);
      peer.persistentKeepalive = n;
      return null;
    }
    case 'replace_allowed_ips':
      if (v !== 'true') return fail(UapiErrno.Invalid, `uapi: replace_allowed_ips: expected true, got ${shown(v)}`);
      peer.allowedIps.push({ op: 'replace' });
      return null;
    case 'allowed_ip': {
      const remove = v.startsWith('-');
      const p = prefix(remove ? v.slice(1) : v);
      if (p === null) return fail(UapiErrno.Invalid, `uapi: allowed_ip: expected a prefix like 10.0.0.0/24, got ${shown(v)}`);
      peer.allowedIps.push({ op: remove ? 'remove' : 'add', prefix: p });
      return null;
    }
    case 'protocol_version':
      if (v !== '1') return fail(UapiErrno.Invalid, `uapi: protocol_version: expected 1, got ${shown(v)}`);
      return null;
    default:
      return fail(UapiErrno.Invalid, `uapi: invalid peer key ${shown(key)}`);
  }
}

/** The set request (`set=1\n` ... `\n`) for `set`: what wg(8) would send for it. */
export function formatUapiSet(set: UapiSet): string {
  const out: string[] = ['set=1'];
  if (set.privateKey !== undefined) out.push(`private_key=${set.privateKey}`);
  if (set.listenPort !== undefined) out.push(`listen_port=${set.listenPort}`);
  if (set.fwmark !== undefined) out.push(`fwmark=${set.fwmark}`);
  if (set.replacePeers) out.push('replace_peers=true');
  for (const p of set.peers) {
    out.push(`public_key=${p.publicKey}`);
    if (p.remove) out.push('remove=true');
    if (p.updateOnly) out.push('update_only=true');
    if (p.presharedKey !== undefined) out.push(`preshared_key=${p.presharedKey}`);
    if (p.endpoint !== undefined) out.push(`endpoint=${p.endpoint}`);
    if (p.persistentKeepalive !== undefined) out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    for (const a of p.allowedIps) out.push(a.op === 'replace' ? 'replace_allowed_ips=true' : `allowed_ip=${a.op === 'remove' ? '-' : ''}${a.prefix}`);
  }
  return `${out.join('\n')}\n\n`;
}

/** The set that makes a device look like `state` (replace_peers, and each peer's allowed IPs replaced). */
export function uapiSetFromState(state: UapiDeviceState): UapiSet {
  const set: UapiSet = { listenPort: state.listenPort, replacePeers: true, peers: [] };
  if (state.privateKey !== null) set.privateKey = state.privateKey;
  if (state.fwmark !== 0) set.fwmark = state.fwmark;
  for (const p of state.peers) {
    const s: UapiPeerSet = {
      publicKey: p.publicKey, remove: false, updateOnly: false, presharedKey: p.presharedKey, persistentKeepalive: p.persistentKeepalive,
      allowedIps: [{ op: 'replace' }, ...p.allowedIps.map((prefix) => ({ op: 'add' as const, prefix }))],
    };
    if (p.endpoint !== null) s.endpoint = p.endpoint;
    set.peers.push(s);
  }
  return set;
}

/** The lines of a get answer before `errno=0` (each ends in `\n`), in wireguard-go's order. */
export function formatUapiGet(state: UapiDeviceState): string {
  const out: string[] = [];
  if (state.privateKey !== null) out.push(`private_key=${state.privateKey}`);
  if (state.listenPort !== 0) out.push(`listen_port=${state.listenPort}`);
  if (state.fwmark !== 0) out.push(`fwmark=${state.fwmark}`);
  for (const p of state.peers) {
    out.push(`public_key=${p.publicKey}`, `preshared_key=${p.presharedKey}`, 'protocol_version=1');
    if (p.endpoint !== null) out.push(`endpoint=${p.endpoint}`);
    out.push(
      `last_handshake_time_sec=${p.lastHandshakeSec}`, `last_handshake_time_nsec=${p.lastHandshakeNsec}`,
      `tx_bytes=${p.txBytes}`, `rx_bytes=${p.rxBytes}`, `persistent_keepalive_interval=${p.persistentKeepalive}`,
    );
    for (const a of p.allowedIps) out.push(`allowed_ip=${a}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * Parses a whole get answer (the lines, `errno=N`, the empty line), as wg(8) reads one: unknown
 * keys are skipped, a non-zero errno is returned as the failure. Never throws.
 */
export function parseUapiGet(text: string): UapiGetResult {
  const state: UapiDeviceState = { privateKey: null, listenPort: 0, fwmark: 0, peers: [] };
  let peer: UapiPeerState | null = null;
  let errno: number | null = null;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) return fail(UapiErrno.Protocol, 'uapi: get answer ends inside a line');
    const line = text.slice(pos, nl);
    pos = nl + 1;
    if (line.length === 0) {
      if (errno === null) return fail(UapiErrno.Protocol, 'uapi: get answer without errno');
      return errno === 0 ? { ok: true, state } : fail(errno, `uapi: get answered errno=${errno}`);
    }
    const eq = line.indexOf('=');
    if (eq < 0) return fail(UapiErrno.Protocol, `uapi: expected key=value, got ${shown(line)}`);
    const key = line.slice(0, eq);
    const v = line.slice(eq + 1);
    let ok = true;
    if (key === 'errno') {
      ok = /^-?[0-9]{1,10}$/.test(v);
      errno = Number(v);
    } else if (key === 'public_key') {
      ok = HEX_KEY.test(v);
      peer = {
        publicKey: v.toLowerCase(), presharedKey: ZERO_KEY_HEX, endpoint: null, lastHandshakeSec: 0, lastHandshakeNsec: 0, txBytes: 0, rxBytes: 0,
        persistentKeepalive: 0, allowedIps: [],
      };
      state.peers.push(peer);
    } else if (peer === null) {
      if (key === 'private_key') {
        ok = HEX_KEY.test(v);
        state.privateKey = v.toLowerCase();
      } else if (key === 'listen_port') ok = (state.listenPort = decimal(v, 65535)) >= 0;
      else if (key === 'fwmark') ok = (state.fwmark = decimal(v, 0xffff_ffff)) >= 0;
    } else if (key === 'preshared_key') {
      ok = HEX_KEY.test(v);
      peer.presharedKey = v.toLowerCase();
    } else if (key === 'endpoint') ok = (peer.endpoint = endpoint(v)) !== null;
    else if (key === 'last_handshake_time_sec') ok = (peer.lastHandshakeSec = decimal(v, Number.MAX_SAFE_INTEGER)) >= 0;
    else if (key === 'last_handshake_time_nsec') ok = (peer.lastHandshakeNsec = decimal(v, 999_999_999)) >= 0;
    else if (key === 'tx_bytes') ok = (peer.txBytes = decimal(v, Number.MAX_SAFE_INTEGER)) >= 0;
    else if (key === 'rx_bytes') ok = (peer.rxBytes = decimal(v, Number.MAX_SAFE_INTEGER)) >= 0;
    else if (key === 'persistent_keepalive_interval') ok = (peer.persistentKeepalive = decimal(v, 65535)) >= 0;
    else if (key === 'allowed_ip') {
      const p = prefix(v);
      ok = p !== null;
      if (p !== null) peer.allowedIps.push(p);
    }
    if (!ok) return fail(UapiErrno.Protocol, `uapi: bad value for ${shown(key)}: ${shown(v)}`);
  }
  return fail(UapiErrno.Protocol, 'uapi: get answer without its empty line');
}
