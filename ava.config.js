// Tests are written in TypeScript and compiled by `npm run build:all` (the `pretest` script) into
// build/, so worker files run exactly as the tests do, with no loader. PKTKIT_BUILD picks another
// build folder (helpers building in parallel use their own).
const build = process.env.PKTKIT_BUILD ?? 'build';
export default {
  files: [`${build}/test/**/*.test.js`, `!${build}/test/interop/**`],
  nodeArguments: ['--enable-source-maps'],
  timeout: '60s',
  workerThreads: false,
};
