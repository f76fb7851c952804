import test from 'ava';
import { execFileSync } from 'node:child_process';
import { hasNative, loadNative, nativePath, requireNative } from '../../src/native/index.js';
import { PktError } from '../../src/errors.js';

test('the addon built by npm install loads and describes itself', (t) => {
  const b = loadNative();
  t.truthy(b, `expected the addon at ${nativePath()} (npm install builds it when cargo is present)`);
  const info = b!.nativeInfo();
  t.is(info.version, '0.1.0');
  t.true(Array.isArray(info.features));
});

test('an API needing a feature the build lacks gets ERR_PKT_NATIVE_UNAVAILABLE saying how to build it', (t) => {
  const missing = (['aead', 'tuntap', 'udp', 'xdp'] as const).find((f) => !hasNative(f));
  if (missing === undefined) return t.pass('every feature is built: nothing is missing to test here');
  const e = t.throws(() => requireNative('this API', missing), { instanceOf: PktError });
  t.is(e?.code, 'ERR_PKT_NATIVE_UNAVAILABLE');
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
