/**
 * The README's examples that need root: examples/tun-ping (a TUN in a network namespace whose
 * kernel pings an address pktkit answers). Run by `npm run test:interop` as root.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const built = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

test('examples/tun-ping: the kernel in a namespace pings pktkit through a TUN and gets every reply', async (t) => {
  const { stdout } = await run(process.execPath, [built('examples/tun-ping.js')], { timeout: 30_000 });
  const out = stdout.trim().split('\n');
  t.regex(out[0]!, /^5 packets transmitted, 5 received, 0% packet loss/);
  t.regex(out[1]!, /^pktkit answered 5 echo requests on pk0; stats: rx \d+, tx 5$/);
  const ns = await run('ip', ['netns', 'list']);
  t.false(ns.stdout.includes('pktkit-example-'), 'the example removed its namespace');
});
