/**
 * `npm run bench`: runs the benchmark suites and prints a table per suite.
 *
 *   npm run bench                         all suites
 *   npm run bench -- --suite core         one suite
 *   npm run bench -- --write-docs         also rewrite the suite's section of docs/BENCHMARKS.md
 *   npm run bench -- --time 1000          milliseconds of sampling per row
 *   npm run bench -- --rounds 5           isolated runs per row (median of their medians)
 *   npm run bench -- --in-process         all rows in one isolate (see harness.ts on isolation)
 */

import { parseArgs } from 'node:util';
import { aeadReport, aeadRows } from './aead.bench.js';
import { coreRows } from './core.bench.js';
import { dhcpRows } from './dhcp.bench.js';
import { l2Rows } from './l2.bench.js';
import { vclientRows } from './vclient.bench.js';
import { vtcpEngineRows } from './vtcp-engine.bench.js';
import { wgRows } from './wg.bench.js';
import { slirpRows } from './slirp.bench.js';
import { machineLine, markdownTable, runSuite, runSuiteIsolated, writeDocsSection, type Row, type RowResult } from './harness.js';

/**
 * Each suite: the module that exports it (for isolated workers), its factory, and optionally
 * `after`, which measures what is not a JavaScript row (an external program) once the rows are
 * done and returns Markdown to print and write below the table.
 */
const SUITES: Record<string, { url: string; name: string; make: () => Row[]; after?: (results: RowResult[]) => Promise<string> }> = {
  core: { url: new URL('./core.bench.js', import.meta.url).href, name: 'coreRows', make: coreRows },
  l2: { url: new URL('./l2.bench.js', import.meta.url).href, name: 'l2Rows', make: l2Rows },
  dhcp: { url: new URL('./dhcp.bench.js', import.meta.url).href, name: 'dhcpRows', make: dhcpRows },
  'vtcp-engine': { url: new URL('./vtcp-engine.bench.js', import.meta.url).href, name: 'vtcpEngineRows', make: vtcpEngineRows },
  vclient: { url: new URL('./vclient.bench.js', import.meta.url).href, name: 'vclientRows', make: vclientRows },
  wg: { url: new URL('./wg.bench.js', import.meta.url).href, name: 'wgRows', make: wgRows },
  'slirp-udp': { url: new URL('./slirp.bench.js', import.meta.url).href, name: 'slirpRows', make: slirpRows },
  aead: { url: new URL('./aead.bench.js', import.meta.url).href, name: 'aeadRows', make: aeadRows, after: aeadReport },
};

const { values } = parseArgs({
  options: {
    suite: { type: 'string', multiple: true },
    time: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    'write-docs': { type: 'boolean', default: false },
    'in-process': { type: 'boolean', default: false },
  },
});

const names = values.suite ?? Object.keys(SUITES);
for (const name of names) {
  const suite = SUITES[name];
  if (suite === undefined) {
    console.error(`unknown suite ${name}; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  const opts = { timeMs: Number(values.time), rounds: Number(values.rounds) };
  const results = values['in-process'] ? await runSuite(suite.make(), opts) : await runSuiteIsolated(suite.url, suite.name, suite.make(), opts);
  const table = markdownTable(results) + (suite.after === undefined ? '' : `\n\n${await suite.after(results)}`);
  const machine = machineLine();
  console.log(`\n## ${name}\n\n${machine}\n\n${table}\n`);
  if (values['write-docs']) await writeDocsSection(name, `Measured: ${machine}\n\n${table}`);
}
