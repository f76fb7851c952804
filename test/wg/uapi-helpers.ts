/** fast-check arbitraries for UAPI states (canonical text: masked prefixes, lowercase keys). */
import fc from 'fast-check';
import { ZERO_KEY_HEX } from '../../src/wg/uapi.js';

export const hexKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
export const v4PrefixArb = fc.tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 32 })).map(([a, bits]) => {
  const m = bits === 0 ? 0 : (a & (~0 << (32 - bits))) >>> 0;
  return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}/${bits}`;
});
const v6Prefix = fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 32, max: 128 })).map(([w, bits]) => `fd00:${w.toString(16)}::/${bits}`);
export const endpointArb = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `192.0.2.${a}:${p}`),
  fc.integer({ min: 1, max: 65535 }).map((p) => `[2001:db8::1]:${p}`),
);
const peerState = fc.record({
  publicKey: hexKeyArb,
  presharedKey: fc.oneof(fc.constant(ZERO_KEY_HEX), hexKeyArb),
  endpoint: fc.option(endpointArb, { nil: null }),
  lastHandshakeSec: fc.nat(),
  lastHandshakeNsec: fc.integer({ min: 0, max: 999_999_999 }),
  txBytes: fc.maxSafeNat(),
  rxBytes: fc.maxSafeNat(),
  persistentKeepalive: fc.integer({ min: 0, max: 65535 }),
  allowedIps: fc.uniqueArray(fc.oneof(v4PrefixArb, v6Prefix), { maxLength: 6 }),
});
export const deviceStateArb = fc.record({
  privateKey: fc.option(hexKeyArb, { nil: null }),
  listenPort: fc.integer({ min: 0, max: 65535 }),
  fwmark: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffff_ffff })),
  peers: fc.uniqueArray(peerState, { maxLength: 5, selector: (p) => p.publicKey }),
});

