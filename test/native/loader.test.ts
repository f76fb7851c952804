import test from 'ava';
import { execFileSync } from 'node:child_process';
import { hasNative, loadNative, nativePath, requireNative, type NativeFeature } from '../../src/native/index.js';
import { PktError } from '../../src/errors.js';

test('the addon built by npm install loads and describes itself', (t) => {
  const b = loadNative();
  t.truthy(b, `expected the addon at ${nativePath()} (npm install builds it when cargo is present)`);
  const info = b!.nativeInfo();
  t.is(info.version, '0.1.0');
  t.true(Array.isArray(info.features));
  // npm install builds the default features (native/Cargo.toml); another build may be pointed at.
  if (process.env['PKTKIT_NATIVE_PATH'] === undefined) t.deepEqual([...info.features].sort(), ['aead', 'icmp', 'tuntap', 'udp', 'xdp']);
  // Always there, whatever the features: the wait module and the bulk byte operations.
  for (const fn of ['waitFds', 'waitFdsAsync', 'eventfdCreate', 'memCopy', 'inetSum'] as const) t.is(typeof b![fn], 'function', fn);
});

test('an API needing a feature the build lacks gets ERR_PKT_NATIVE_UNAVAILABLE saying how to build it', (t) => {
  // A feature this build lacks; with every real one built, a name no build has stands in for it.
  const missing = (['aead', 'icmp', 'tuntap', 'udp', 'xdp'] as const).find((f) => !hasNative(f)) ?? ('teleport' as NativeFeature);
  const e = t.throws(() => requireNative('this API', missing), { instanceOf: PktError });
  t.is(e?.code, 'ERR_PKT_NATIVE_UNAVAILABLE');
  t.regex(e?.message ?? '', new RegExp(`lacks the '${missing}' feature`));
  t.regex(e?.message ?? '', /npm run build:native/);
});

test('without the addon, the loader fails soft: null, and the typed error names where it looked', (t) => {
  const loader = new URL('../../src/native/index.js', import.meta.url).href;
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(loader)});
       console.log(m.loadNative() === null);
       try { m.requireNative('batched AEAD', 'aead'); } catch (e) { console.log(e.code); console.log(e.message); }`,
    ],
    { env: { ...process.env, PKTKIT_NATIVE_PATH: '/nonexistent/pktkit.node' }, encoding: 'utf8' },
  );
  const [isNull, code, message] = out.trim().split('\n');
  t.is(isNull, 'true');
  t.is(code, 'ERR_PKT_NATIVE_UNAVAILABLE');
  t.regex(message!, /batched AEAD needs pktkit's native addon, but the addon is not built \(looked for \/nonexistent\/pktkit.node\)/);
});
