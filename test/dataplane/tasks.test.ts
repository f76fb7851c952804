import test from 'ava';
import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { PktTypeError } from '../../src/errors.js';
import type { TaskName } from '../../src/dataplane/index.js';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** The public key node:crypto derives from a raw private key (imported via JWK; Node derives x from d). */
function derivePublic(priv: Uint8Array, claimedPub: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(priv), x: b64u(claimedPub) }, format: 'jwk' });
  const x = createPublicKey(key).export({ format: 'jwk' }).x!;
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

test.serial('50 X25519 key pairs from the task pool while traffic flows through the dataplane', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2, taskThreads: 2 });
  const gen = await dp.create({ kind: 'gen' }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink' }, { worker: 1 });
  await dp.link(gen, sink, { policy: 'wait', maxWaitMs: 1000 });
  const N = 200_000;
  const flowing = dp.command(gen, 'send', { count: N, burst: 64, size: 64 });

  const pairs = await Promise.all(Array.from({ length: 50 }, () => dp.tasks.run('x25519-keypair')));
  t.is(dp.tasks.threads > 0, true);
  const seen = new Set<string>();
  for (const { publicKey, privateKey } of pairs) {
    t.true(publicKey instanceof Uint8Array && privateKey instanceof Uint8Array);
    t.is(publicKey.length, 32);
    t.is(privateKey.length, 32);
    t.deepEqual(derivePublic(privateKey, publicKey), publicKey);
    seen.add(b64u(privateKey));
  }
  t.is(seen.size, 50, 'every private key is different');
  // And two of them agree on a shared secret (RFC 7748 §6.1).
  const [p, q] = pairs as [(typeof pairs)[0], (typeof pairs)[0]];
  const key = (k: { publicKey: Uint8Array; privateKey: Uint8Array }) => createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(k.privateKey), x: b64u(k.publicKey) }, format: 'jwk' });
  t.deepEqual(diffieHellman({ privateKey: key(p), publicKey: createPublicKey(key(q)) }), diffieHellman({ privateKey: key(q), publicKey: createPublicKey(key(p)) }));

  t.deepEqual(await flowing, { sent: N });
  t.is(await dp.command(sink, 'wait', { count: N }), N);
  t.like((await dp.stats()).workers[1]!.engines[0]!.stats, { received: N, outOfOrder: 0 });

  await t.throwsAsync(dp.tasks.run('nope' as TaskName), { instanceOf: PktTypeError, message: /unknown task "nope" \(expected x25519-keypair, wg-consume-initiation, wg-create-response\)/ });
  await dp.close();
  t.is(dp.tasks.threads, 0);
  await assertNoLeak(t, before);
});
