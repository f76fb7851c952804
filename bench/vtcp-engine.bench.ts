/** The vtcp engine suite of `npm run bench`: the Tcb rows and the building blocks' rows together. */
import type { Row } from './harness.js';
import { vtcpBlockRows } from './vtcp-blocks.bench.js';
import { vtcpRows } from './vtcp.bench.js';

export function vtcpEngineRows(): Row[] {
  return [...vtcpRows(), ...vtcpBlockRows()];
}
