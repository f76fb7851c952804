/**
 * Congestion controllers by name (TcbOptions.congestionControl): NewReno (RFC 5681, RFC 6582)
 * and CUBIC (RFC 9438). A new controller needs `init(mss, now)` before use.
 */

import type { CongestionControl, CongestionControlName } from '../contract.js';
import { PktRangeError } from '../../errors.js';
import { Cubic } from './cubic.js';
import { NewReno } from './newreno.js';

export { Cubic, CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, cubicK, cubicWindow, type CubicOptions } from './cubic.js';
export { ABC_L, NewReno, initialWindow } from './newreno.js';

/**
 * A fresh controller of the named kind.
 * @throws PktRangeError for an unknown name.
 */
export function createCongestionControl(name: CongestionControlName): CongestionControl {
  switch (name) {
    case 'newreno':
      return new NewReno();
    case 'cubic':
      return new Cubic();
    default:
      throw new PktRangeError(`vtcp: unknown congestion control ${JSON.stringify(name as string)}, expected 'newreno' or 'cubic'`);
  }
}
