/**
 * Network namespaces for the ICMP echo socket tests: a fresh namespace with `lo` up (127.0.0.0/8
 * and ::1 answer there) and net.ipv4.ping_group_range opened to every group, so that echo
 * sockets may be opened in it (`IcmpEchoSocket.open(f, { netns })`) without touching the host's
 * sysctl, whose kernel default "1 0" refuses everyone, root included. Deleted on teardown.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { hasNative } from '../../src/native/index.js';

let seq = 0;

/** Why the ICMP socket tests cannot run here (not root, no addon with `icmp`), or null. */
export function icmpSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (to make network namespaces with ping_group_range opened)';
  if (!hasNative('icmp')) return "needs the native addon with the 'icmp' feature (npm run build:native)";
  return null;
}

/**
 * Makes a namespace (deleted on teardown) and returns its path under /run/netns. `widen`: open
 * ping_group_range there (default true; false keeps the kernel default "1 0"). `void`: also a
 * veth with 198.51.100.1/24 whose peer is down, into which pings of 198.51.100.2 vanish
 * unanswered (sendto succeeds; the neighbour is never resolved).
 */
export function pingNetns(t: ExecutionContext, opts: { widen?: boolean; void?: boolean } = {}): string {
  const name = `pk-icmp-${process.pid}-${++seq}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'del', name]);
    } catch {
      // already gone
    }
  });
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  if (opts.widen !== false) execFileSync('ip', ['netns', 'exec', name, 'sh', '-c', 'echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range']);
  if (opts.void === true) {
    execFileSync('ip', ['-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    execFileSync('ip', ['-n', name, 'addr', 'add', '198.51.100.1/24', 'dev', 'v0']);
    execFileSync('ip', ['-n', name, 'link', 'set', 'v0', 'up']);
  }
  return `/run/netns/${name}`;
}

/** Descriptors open in this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
