/**
 * Allocation: steady-state bulk transfer between two Tcbs allocates nothing per segment.
 * The loop is bench/vtcp.bench.ts's BulkPair (segments marshalled into fixed slots, parsed
 * back, handed to the other Tcb; a clock whose timers are reused objects). Scavenges are counted
 * in a fresh process (test/helpers/alloc.ts) for a short and a long run: the difference is what
 * 300k more data segments (and their ACKs) cost. A control run that allocates one small object
 * per segment (an 8-element array, about 100 bytes) shows the count would catch it.
 *
 * Sequence numbers stay below 2^31 here. Above it, V8 holds a uint32 as a HeapNumber wherever it
 * is not a float64 register or a Double field, and the same run costs about two HeapNumbers per
 * segment today (part of it in the building blocks' Tagged fields: see the engine report).
 */
import test from 'ava';
import { countScavenges } from '../../helpers/alloc.js';

const benchUrl = new URL('../../../bench/vtcp.bench.js', import.meta.url).href;

function body(segments: number, control: boolean, opts: string, iss: string): string {
  return `
    import { BulkPair } from ${JSON.stringify(benchUrl)};
    function main() {
      const pair = new BulkPair(${opts}, ${iss});
      if (${control}) {
        const keep = new Array(1024).fill(null);
        let k = 0;
        const orig = pair.b.input.bind(pair.b);
        pair.b.input = (f, p, o, l) => { keep[k++ & 1023] = [k, k, k, k, k, k, k, k]; orig(f, p, o, l); };
      }
      pair.run(${segments});
      if (pair.a.stateName !== 'ESTABLISHED' || pair.ab.drops !== 0) throw new Error('bad run ' + pair.a.stateName);
    }
    main();
  `;
}

const allocCase = test.macro({
  exec(t, opts: string) {
    // Sequence numbers below 2^31 for the whole run (V8 small integers): see the report on
    // numbers above 2^31, which still cost about two HeapNumbers per segment in the building
    // blocks' and the Tcb's uint32 arithmetic.
    const iss = '0x1000_0000, 0x2000_0000';
    const short = countScavenges(body(20_000, false, opts, iss));
    const long = countScavenges(body(320_000, false, opts, iss));
    const control = countScavenges(body(320_000, true, opts, iss)) - countScavenges(body(20_000, true, opts, iss));
    t.log(`scavenges: ${short} for 20k segments, ${long} for 320k; control allocating per segment: +${control}`);
    t.true(control >= 10, `the control should scavenge (${control})`);
    t.true(long - short <= 2, `${long - short} scavenges over 300k segments: the Tcb allocates per segment`);
  },
  title: (_p, opts: string) => `steady-state bulk transfer allocates nothing per segment ${opts}`,
});
test(allocCase, '{}');
test(allocCase, '{ sack: false, timestamps: false }');
