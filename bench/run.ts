/**
 * `npm run bench`: runs the benchmark suites and prints a table per suite.
 *
 *   npm run bench                         all suites
 *   npm run bench -- --suite core         one suite
 *   npm run bench -- --write-docs         also rewrite the suite's section of docs/BENCHMARKS.md
 *   npm run bench -- --time 1000          milliseconds of sampling per row
 */

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { coreRows } from './core.bench.js';
import { machineLine, markdownTable, runSuite, type Row } from './harness.js';

const SUITES: Record<string, () => Row[]> = { core: coreRows };

const { values } = parseArgs({
  options: {
    suite: { type: 'string', multiple: true },
    time: { type: 'string', default: '500' },
    'write-docs': { type: 'boolean', default: false },
  },
});

const names = values.suite ?? Object.keys(SUITES);
for (const name of names) {
  const make = SUITES[name];
  if (make === undefined) {
    console.error(`unknown suite ${name}; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  const results = await runSuite(make(), { timeMs: Number(values.time) });
  const table = markdownTable(results);
  const machine = machineLine();
  console.log(`\n## ${name}\n\n${machine}\n\n${table}\n`);
  if (values['write-docs']) {
    const path = new URL('../../docs/BENCHMARKS.md', import.meta.url);
    const doc = await readFile(path, 'utf8');
    const begin = `<!-- bench:${name}:begin -->`;
    const end = `<!-- bench:${name}:end -->`;
    const i = doc.indexOf(begin);
    const j = doc.indexOf(end);
    if (i === -1 || j === -1) throw new Error(`docs/BENCHMARKS.md has no ${begin} … ${end} section`);
    const section = `${begin}\nMeasured: ${machine}\n\n${table}\n${end}`;
    await writeFile(path, doc.slice(0, i) + section + doc.slice(j + end.length));
    console.log(`wrote the ${name} section of docs/BENCHMARKS.md`);
  }
}
