/**
 * The UAPI codec (src/wg/uapi.ts): golden requests and answers (wireguard-go's own get, pasted
 * in INTEROP.md §1b; the lines wireguard-tools' ipc-uapi.h writes for `wg set`), every refusal
 * with its errno, property tests (garbage never throws, set and get round-trip) and a
 * linear-time check.
 */
import test from 'ava';
import fc from 'fast-check';
import { deviceStateArb, endpointArb, hexKeyArb, v4PrefixArb } from './uapi-helpers.js';
import {
  UapiErrno, ZERO_KEY_HEX, formatUapiGet, formatUapiSet, parseUapiGet, parseUapiSet, uapiSetFromState, type UapiDeviceState, type UapiSet,
} from '../../src/wg/uapi.js';

const K1 = 'b1fbce7a1903e0900f1dc854d8c92e1e90c0b9a88b0bda4447c6c4e8c9142627';
const K2 = '58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376';
const SK = 'e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a';

/** wireguard-go's get as seen in INTEROP.md §1b (private key replaced by SK). */
const WG_GO_GET = `private_key=${SK}
listen_port=51820
public_key=${K1}
preshared_key=${ZERO_KEY_HEX}
protocol_version=1
endpoint=127.0.0.1:51821
last_handshake_time_sec=1795360012
last_handshake_time_nsec=964118653
tx_bytes=140393596
rx_bytes=1852220
persistent_keepalive_interval=0
allowed_ip=10.77.0.2/32
errno=0

`;

test('a wireguard-go get answer parses, and formats back byte for byte', (t) => {
  const r = parseUapiGet(WG_GO_GET);
  if (!r.ok) return t.fail(r.message);
  t.deepEqual(r.state, {
    privateKey: SK, listenPort: 51820, fwmark: 0,
    peers: [{
      publicKey: K1, presharedKey: ZERO_KEY_HEX, endpoint: '127.0.0.1:51821', lastHandshakeSec: 1795360012, lastHandshakeNsec: 964118653,
      txBytes: 140393596, rxBytes: 1852220, persistentKeepalive: 0, allowedIps: ['10.77.0.2/32'],
    }],
  });
  t.is(`${formatUapiGet(r.state)}errno=0\n\n`, WG_GO_GET);
});

test('get: a non-zero errno is the failure; unknown keys are skipped as wg(8) skips them', (t) => {
  t.like(parseUapiGet('errno=-22\n\n'), { ok: false, errno: -22 });
  t.like(parseUapiGet('listen_port=1\nfuture_key=x\nerrno=0\n\n'), { ok: true, state: { listenPort: 1 } });
  t.like(parseUapiGet('listen_port=1\n'), { ok: false, errno: UapiErrno.Protocol });
  t.like(parseUapiGet('listen_port=1\n\n'), { ok: false, errno: UapiErrno.Protocol });
  t.like(parseUapiGet('listen_port=65536\nerrno=0\n\n'), { ok: false, errno: UapiErrno.Protocol });
});

/** What `wg set wg0 listen-port 51820 fwmark 0x10 peer <K1> preshared-key f endpoint [::1]:51821 persistent-keepalive 25 allowed-ips 10.0.0.0/24,fd00::/64` writes (ipc-uapi.h order). */
const WG_SET = `private_key=${SK}
listen_port=51820
fwmark=16
public_key=${K1}
preshared_key=${K2}
endpoint=[::1]:51821
persistent_keepalive_interval=25
replace_allowed_ips=true
allowed_ip=10.0.0.0/24
allowed_ip=fd00::/64
public_key=${K2}
remove=true
`;

test('a set as wg(8) writes it parses into device keys and peer sections, and formats back', (t) => {
  const r = parseUapiSet(WG_SET);
  if (!r.ok) return t.fail(r.message);
  const want: UapiSet = {
    privateKey: SK, listenPort: 51820, fwmark: 16, replacePeers: false,
    peers: [
      {
        publicKey: K1, remove: false, updateOnly: false, presharedKey: K2, endpoint: '[::1]:51821', persistentKeepalive: 25,
        allowedIps: [{ op: 'replace' }, { op: 'add', prefix: '10.0.0.0/24' }, { op: 'add', prefix: 'fd00::/64' }],
      },
      { publicKey: K2, remove: true, updateOnly: false, allowedIps: [] },
    ],
  };
  t.deepEqual(r.set, want);
  t.is(formatUapiSet(r.set), `set=1\n${WG_SET}\n`);
});

test('set: keys in upper case are read, host bits masked, endpoints and removals normalised', (t) => {
  const r = parseUapiSet(`public_key=${K1.toUpperCase()}\nallowed_ip=10.1.2.3/16\nallowed_ip=-fd00::1/64\nendpoint=[0:0::1]:7\nupdate_only=true\nprotocol_version=1\n`);
  if (!r.ok) return t.fail(r.message);
  t.deepEqual(r.set.peers[0], {
    publicKey: K1, remove: false, updateOnly: true, endpoint: '[::1]:7',
    allowedIps: [{ op: 'add', prefix: '10.1.0.0/16' }, { op: 'remove', prefix: 'fd00::/64' }],
  });
  t.like(parseUapiSet('listen_port=00080\n'), { ok: true, set: { listenPort: 80 } }, 'leading zeros, as strconv.ParseUint');
  t.like(parseUapiSet('listen_port=1\n\nlisten_port=bad\n'), { ok: true, set: { listenPort: 1 } }, 'the request ends at the empty line');
  t.like(parseUapiSet(''), { ok: true, set: { replacePeers: false, peers: [] } });
});

const refused = test.macro({
  exec(t, body: string, errno: number) {
    const r = parseUapiSet(body);
    t.false(r.ok);
    t.is(r.ok ? 0 : r.errno, errno);
  },
  title: (what = '', body: string, errno: number) => `set refuses ${what || JSON.stringify(body)} with errno ${errno}`,
});

test('(no =)', refused, 'private_key\n', UapiErrno.Protocol);
test('(short key)', refused, `private_key=${SK.slice(1)}\n`, UapiErrno.Invalid);
test('(non-hex key)', refused, `public_key=${'g'.repeat(64)}\n`, UapiErrno.Invalid);
test('(port past 65535)', refused, 'listen_port=65536\n', UapiErrno.Invalid);
test('(signed port)', refused, 'listen_port=+1\n', UapiErrno.Invalid);
test('(empty port)', refused, 'listen_port=\n', UapiErrno.Invalid);
test('(fwmark past 2^32)', refused, 'fwmark=4294967296\n', UapiErrno.Invalid);
test('(replace_peers=false)', refused, 'replace_peers=false\n', UapiErrno.Invalid);
test('(unknown device key)', refused, 'mtu=1420\n', UapiErrno.Invalid);
test('(a peer key before any public_key)', refused, 'endpoint=1.2.3.4:5\n', UapiErrno.Invalid);
test('(a device key inside a peer)', refused, `public_key=${K1}\nlisten_port=1\n`, UapiErrno.Invalid);
test('(remove=1)', refused, `public_key=${K1}\nremove=1\n`, UapiErrno.Invalid);
test('(a host name endpoint)', refused, `public_key=${K1}\nendpoint=example.com:51820\n`, UapiErrno.Invalid);
test('(an unbracketed v6 endpoint)', refused, `public_key=${K1}\nendpoint=::1:51820\n`, UapiErrno.Invalid);
test('(a prefix without length)', refused, `public_key=${K1}\nallowed_ip=10.0.0.1\n`, UapiErrno.Invalid);
test('(a prefix too long)', refused, `public_key=${K1}\nallowed_ip=10.0.0.0/33\n`, UapiErrno.Invalid);
test('(keepalive past 65535)', refused, `public_key=${K1}\npersistent_keepalive_interval=65536\n`, UapiErrno.Invalid);
test('(protocol_version=2)', refused, `public_key=${K1}\nprotocol_version=2\n`, UapiErrno.Invalid);
test('(a carriage return)', refused, 'listen_port=1\r\n', UapiErrno.Invalid);

// -------------------------------------------------------------------------------------------
// Properties

test('property: format get -> parse get is the identity', (t) => {
  fc.assert(
    fc.property(deviceStateArb, (state: UapiDeviceState) => {
      const r = parseUapiGet(`${formatUapiGet(state)}errno=0\n\n`);
      return r.ok && JSON.stringify(r.state) === JSON.stringify(state);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('property: the set made from a state formats, parses and formats to the same text', (t) => {
  fc.assert(
    fc.property(deviceStateArb, (state: UapiDeviceState) => {
      const text = formatUapiSet(uapiSetFromState(state));
      const r = parseUapiSet(text.slice('set=1\n'.length));
      return r.ok && formatUapiSet(r.set) === text;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

const line = fc.oneof(
  fc.string(),
  fc.tuple(
    fc.constantFrom('private_key', 'listen_port', 'fwmark', 'replace_peers', 'public_key', 'remove', 'update_only', 'preshared_key', 'endpoint', 'persistent_keepalive_interval', 'replace_allowed_ips', 'allowed_ip', 'protocol_version', 'errno', 'tx_bytes'),
    fc.oneof(fc.string(), hexKeyArb, fc.constant('true'), fc.nat().map(String), v4PrefixArb, endpointArb),
  ).map(([k, v]) => `${k}=${v}`),
);

test('property: garbage never throws out of either parser, and a refusal names a known errno', (t) => {
  const known = new Set<number>(Object.values(UapiErrno));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), (lines, blank) => {
      const text = lines.join('\n') + (blank ? '\n\n' : '\n');
      const s = parseUapiSet(text);
      const g = parseUapiGet(text);
      return (s.ok || known.has(s.errno)) && (g.ok || typeof g.errno === 'number');
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => typeof parseUapiSet(s).ok === 'boolean' && typeof parseUapiGet(s).ok === 'boolean'));
  t.pass();
});

test('parsing is linear: 8x the peers takes far less than 64x the time', (t) => {
  const body = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += `public_key=${i.toString(16).padStart(64, '0')}\nendpoint=192.0.2.1:${1 + (i % 60000)}\nallowed_ip=10.${i >> 8 & 255}.${i & 255}.0/24\n`;
    return s;
  };
  const time = (text: string): number => {
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      const r = parseUapiSet(text);
      best = Math.min(best, performance.now() - t0);
      if (!r.ok) throw new Error(r.message);
    }
    return best;
  };
  const small = body(2000);
  const big = body(16000);
  time(small); // warm up
  const ratio = time(big) / Math.max(time(small), 0.01);
  t.log(`16000 peers / 2000 peers: ${ratio.toFixed(1)}x`);
  t.true(ratio < 32);
});
