/**
 * wg-quick(8) configuration files: `[Interface]` and `[Peer]` sections of `Key = value` lines,
 * read into what WgDevice takes and written back (cold path: configuration only).
 *
 * Interface keys: PrivateKey, ListenPort, Address (repeatable, comma lists), MTU, and the ones
 * wg-quick itself acts on (DNS, Table, PreUp, PostUp, PreDown, PostDown, SaveConfig, FwMark),
 * kept verbatim in `extra` since they are the host's business. Peer keys: PublicKey,
 * PresharedKey, Endpoint, AllowedIPs (repeatable, comma lists), PersistentKeepalive. Keys are
 * case-insensitive, `#` starts a comment. Anything else is a ConfigError naming the line.
 */

import { ConfigError } from '../errors.js';
import { IpPrefix } from '../wire/addr.js';
import { parseEndpoint } from './bind.js';
import type { WgPeerConfig } from './config.js';
import { keyFromBase64, keyToBase64 } from './crypto.js';

export interface WgQuickConfig {
  privateKey: string;
  listenPort?: number;
  addresses: string[];
  mtu?: number;
  /** Interface keys for wg-quick's own use (DNS, PostUp...), as written. */
  extra: [string, string][];
  peers: (WgPeerConfig & { publicKey: string })[];
}

const EXTRA = new Set(['dns', 'table', 'preup', 'postup', 'predown', 'postdown', 'saveconfig', 'fwmark']);

/**
 * Parses a wg-quick file.
 * @throws {ConfigError} on an unknown section or key, a malformed value, or a missing key.
 */
export function parseWgQuick(text: string): WgQuickConfig {
  const cfg: WgQuickConfig = { privateKey: '', addresses: [], extra: [], peers: [] };
  let section: 'interface' | 'peer' | null = null;
  let peer: (WgPeerConfig & { publicKey: string }) | null = null;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const where = `wg-quick: line ${n + 1}`;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head !== null) {
      const name = head[1]!.toLowerCase();
      if (name === 'interface') section = 'interface';
      else if (name === 'peer') {
        section = 'peer';
        peer = { publicKey: '', allowedIps: [] };
        cfg.peers.push(peer);
      } else throw new ConfigError(`${where}: unknown section [${head[1]}]`);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || section === null) throw new ConfigError(`${where}: expected "Key = value" inside [Interface] or [Peer]`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const k = key.toLowerCase();
    try {
      if (section === 'interface') {
        if (k === 'privatekey') cfg.privateKey = keyToBase64(keyFromBase64(value));
        else if (k === 'listenport') cfg.listenPort = int(value, 0, 65535);
        else if (k === 'address') cfg.addresses.push(...list(value).map((a) => IpPrefix.parse(a).toString()));
        else if (k === 'mtu') cfg.mtu = int(value, 576, 65535);
        else if (EXTRA.has(k)) cfg.extra.push([key, value]);
        else throw new ConfigError(`unknown [Interface] key ${key}`);
      } else {
        const p = peer!;
        if (k === 'publickey') p.publicKey = keyToBase64(keyFromBase64(value));
        else if (k === 'presharedkey') p.presharedKey = keyToBase64(keyFromBase64(value));
        else if (k === 'endpoint') {
          parseEndpoint(value);
          p.endpoint = value;
        } else if (k === 'allowedips') p.allowedIps!.push(...list(value).map((a) => IpPrefix.parse(a).masked().toString()));
        else if (k === 'persistentkeepalive') p.persistentKeepalive = value === 'off' ? 0 : int(value, 0, 65535);
        else throw new ConfigError(`unknown [Peer] key ${key}`);
      }
    } catch (err) {
      throw new ConfigError(`${where}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (cfg.privateKey === '') throw new ConfigError('wg-quick: [Interface] needs a PrivateKey');
  cfg.peers.forEach((p, i) => {
    if (p.publicKey === '') throw new ConfigError(`wg-quick: [Peer] ${i + 1} needs a PublicKey`);
  });
  return cfg;
}

/** Writes a wg-quick file (keys in wg-quick's spelling; empty lists omitted). */
export function formatWgQuick(cfg: WgQuickConfig): string {
  const out = ['[Interface]', `PrivateKey = ${cfg.privateKey}`];
  if (cfg.listenPort !== undefined) out.push(`ListenPort = ${cfg.listenPort}`);
  if (cfg.addresses.length > 0) out.push(`Address = ${cfg.addresses.join(', ')}`);
  if (cfg.mtu !== undefined) out.push(`MTU = ${cfg.mtu}`);
  for (const [k, v] of cfg.extra) out.push(`${k} = ${v}`);
  for (const p of cfg.peers) {
    out.push('', '[Peer]', `PublicKey = ${p.publicKey}`);
    if (typeof p.presharedKey === 'string') out.push(`PresharedKey = ${p.presharedKey}`);
    if (typeof p.endpoint === 'string') out.push(`Endpoint = ${p.endpoint}`);
    if (p.allowedIps !== undefined && p.allowedIps.length > 0) out.push(`AllowedIPs = ${p.allowedIps.map(String).join(', ')}`);
    if (p.persistentKeepalive !== undefined && p.persistentKeepalive > 0) out.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
  }
  return `${out.join('\n')}\n`;
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function int(v: string, min: number, max: number): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < min || Number(v) > max) throw new ConfigError(`expected an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return Number(v);
}
