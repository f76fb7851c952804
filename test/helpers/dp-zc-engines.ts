/**
 * The zero-copy tests' extra plugin module: the `mark` stage (dp-engines.ts) as an engine kind.
 * Loaded besides dp-engines.ts by `startDataplane(t, { modules: [ZC_ENGINES_URL] })`.
 */

import type { DataplaneModule } from '../../src/dataplane/index.js';
import { Marker } from './dp-engines.js';

export const ZC_ENGINES_URL = new URL('./dp-zc-engines.js', import.meta.url).href;

const register: DataplaneModule = (registry) => {
  registry.define('mark', { layer: 2, create: () => new Marker() });
};
export default register;
