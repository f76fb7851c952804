#!/usr/bin/env node
/**
 * Builds the native addon (native/, a Rust crate) with @napi-rs/cli, in release mode, when cargo
 * is installed; run by `npm install` (the prepare script) and `npm run build:native`. Without a
 * Rust toolchain it says so and succeeds: every pure-TypeScript part of pktkit works without the
 * addon, and the parts that need it throw ERR_PKT_NATIVE_UNAVAILABLE with these instructions.
 *
 *   node scripts/build-native.mjs [--features "aead tuntap"] [--debug]
 *
 * Output: native/pktkit.<platform>.node, and the generated typings src/native/binding.ts (committed, so
 * that the TypeScript build works without cargo).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { features: { type: 'string' }, debug: { type: 'boolean', default: false } } });

function has(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

if (process.platform !== 'linux') {
  console.log(`pktkit: the native addon is Linux-only; skipping it on ${process.platform}.`);
  process.exit(0);
}
if (!has('cargo')) {
  console.log('pktkit: cargo not found, so the native addon (TUN/TAP, AF_XDP, batched UDP and AEAD) was not built.');
  console.log('pktkit: install Rust (https://rustup.rs) and run `npm run build:native` to build it.');
  process.exit(0);
}
const args = [
  'napi', 'build', '--platform', '--manifest-path', 'native/Cargo.toml', '--output-dir', 'native',
  '--no-js', '--dts', '../src/native/binding.ts',
];
if (!values.debug) args.push('--release');
if (values.features !== undefined) args.push('--no-default-features', '--features', values.features);
const r = spawnSync('npx', args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
