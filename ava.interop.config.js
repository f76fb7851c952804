// Real-peer tests (tshark today; wireguard-go, openvpn, QEMU, the kernel through TUN later).
// Run as root by `npm run test:interop`; `.ci/run` installs the Debian packages they need.
const build = process.env.PKTKIT_BUILD ?? 'build';
export default {
  files: [`${build}/test/interop/**/*.test.js`],
  nodeArguments: ['--enable-source-maps'],
  timeout: '120s',
  concurrency: 1,
  workerThreads: false,
};
