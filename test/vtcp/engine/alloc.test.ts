/**
 * Allocation: steady-state bulk transfer between two Tcbs allocates nothing per segment.
 * The loop is bench/vtcp.bench.ts's BulkPair (segments marshalled into fixed slots, parsed
 * back, handed to the other Tcb; a clock whose timers are reused objects). Scavenges are counted
 * in a fresh process (test/helpers/alloc.ts) for a short and a long run: the difference is what
 * 300k more data segments (and their ACKs) cost. A control run that allocates one small object
 * per segment (an 8-element array, about 100 bytes) shows the count would catch it.
 *
 * Both below and above 2^31: a uint32 at or above 2^31 is a HeapNumber wherever V8 boxes it (a
 * field, an argument of a call that is not inlined), so the Tcb and the blocks hold every
 * sequence number as an int32 (seqAdd32, `| 0`); a run whose numbers start above 2^31 shows it.
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
  exec(t, opts: string, iss: string) {
    const short = countScavenges(body(20_000, false, opts, iss));
    const long = countScavenges(body(320_000, false, opts, iss));
    const control = countScavenges(body(320_000, true, opts, iss)) - countScavenges(body(20_000, true, opts, iss));
    t.log(`scavenges: ${short} for 20k segments, ${long} for 320k; control allocating per segment: +${control}`);
    t.true(control >= 10, `the control should scavenge (${control})`);
    t.true(long - short <= 2, `${long - short} scavenges over 300k segments: the Tcb allocates per segment`);
  },
  title: (_p, opts: string, iss: string) => `steady-state bulk transfer allocates nothing per segment ${opts}, ISSs ${iss}`,
});
test(allocCase, '{}', '0x1000_0000, 0x2000_0000');
test(allocCase, '{ sack: false, timestamps: false }', '0x1000_0000, 0x2000_0000');
test(allocCase, '{}', '0x9000_0000, 0xfff0_0000');
test(allocCase, '{ sack: false, timestamps: false }', '0xa000_0000, 0x7fff_f000');
