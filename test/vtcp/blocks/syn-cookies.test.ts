import test from 'ava';
import { ManualClock } from '../../../src/core/clock.js';
import { SYN_COOKIE_MSS_TABLE, SYN_COOKIE_PERIOD_MS, SynCookies, mssIndex } from '../../../src/vtcp/syn-cookies.js';
import { PktRangeError } from '../../../src/errors.js';

const LOCAL = Uint8Array.of(10, 0, 0, 1);
const REMOTE = Uint8Array.of(192, 168, 1, 20);
const LOCAL6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]);
const REMOTE6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2]);
const SECRET = new Uint8Array(32).fill(0x42);
const PEER_ISN = 0xfffffff0; // the peer's ISN + 1 wraps below

function setup(start = 10 * SYN_COOKIE_PERIOD_MS + 5): { clock: ManualClock; sc: SynCookies } {
  const clock = new ManualClock(start);
  return { clock, sc: new SynCookies({ clock, secret: SECRET }) };
}

test('round trip: the final ACK validates and gives back the MSS', (t) => {
  const { sc } = setup();
  const iss = sc.generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  t.is(sc.validate(LOCAL, REMOTE, 80, 40000, (PEER_ISN + 1) >>> 0, (iss + 1) >>> 0), 1460);
});

test('round trip over IPv6, and the ISS wraps like any sequence number', (t) => {
  const { sc } = setup();
  for (let isn = 0; isn < 50; isn++) {
    const peer = (0xffff_ffe0 + isn) >>> 0;
    const iss = sc.generate(LOCAL6, REMOTE6, 443, 50000 + isn, peer, 1440);
    t.is(sc.validate(LOCAL6, REMOTE6, 443, 50000 + isn, (peer + 1) >>> 0, (iss + 1) >>> 0), 1440);
  }
});

const tamperCase = test.macro({
  exec(t, change: (a: { local: Uint8Array; remote: Uint8Array; lp: number; rp: number; seq: number; ack: number }) => void) {
    const { sc } = setup();
    const iss = sc.generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
    const a = { local: LOCAL, remote: REMOTE, lp: 80, rp: 40000, seq: (PEER_ISN + 1) >>> 0, ack: (iss + 1) >>> 0 };
    change(a);
    t.is(sc.validate(a.local, a.remote, a.lp, a.rp, a.seq, a.ack), 0);
  },
  title: (what = '') => `rejected: ${what}`,
});
test('hash bits of the ACK flipped', tamperCase, (a) => void (a.ack = (a.ack ^ 0x0100_0000) >>> 0));
test('MSS bits changed (the Go original accepted this)', tamperCase, (a) => void (a.ack = (a.ack ^ 0x20) >>> 0));
test('counter bits changed', tamperCase, (a) => void (a.ack = (a.ack ^ 0x01) >>> 0));
test('another remote address (the Go original ignores addresses)', tamperCase, (a) => void (a.remote = Uint8Array.of(192, 168, 1, 21)));
test('another local address', tamperCase, (a) => void (a.local = Uint8Array.of(10, 0, 0, 2)));
test('another remote port', tamperCase, (a) => void (a.rp = 40001));
test('another local port', tamperCase, (a) => void (a.lp = 81));
test("another peer ISN (the ACK's sequence number)", tamperCase, (a) => void (a.seq = (a.seq + 1) >>> 0));
test('the same address as IPv4-mapped IPv6', tamperCase, (a) => void (a.remote = Uint8Array.from([...new Array<number>(10).fill(0), 0xff, 0xff, 192, 168, 1, 20])));

test('a random ACK almost never validates (24-bit hash)', (t) => {
  const { sc } = setup();
  let ok = 0;
  for (let i = 0; i < 20_000; i++) ok += sc.validate(LOCAL, REMOTE, 80, 40000, 12345, (Math.random() * 2 ** 32) >>> 0) > 0 ? 1 : 0;
  t.true(ok <= 1, `${ok} of 20000 random ACKs validated`);
});

test('lifetime: valid in its period and the next, expired after 2 periods', (t) => {
  const { clock, sc } = setup(100 * SYN_COOKIE_PERIOD_MS); // at the very start of a period
  const iss = sc.generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  const check = (): number => sc.validate(LOCAL, REMOTE, 80, 40000, (PEER_ISN + 1) >>> 0, (iss + 1) >>> 0);
  clock.advance(SYN_COOKIE_PERIOD_MS - 1);
  t.is(check(), 1460, 'end of its own period');
  clock.advance(1);
  t.is(check(), 1460, 'start of the next (the secret rotated; the previous one is kept)');
  clock.advance(SYN_COOKIE_PERIOD_MS - 1);
  t.is(check(), 1460, 'end of the next');
  clock.advance(1);
  t.is(check(), 0, 'two periods later: expired');
  clock.advance(30 * SYN_COOKIE_PERIOD_MS);
  t.is(check(), 0, 'the 5-bit counter came round again (32 periods): still refused');
});

test('the secret rotates: the same SYN in the next period gets a different hash', (t) => {
  const { clock, sc } = setup(0);
  const a = sc.generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  clock.advance(SYN_COOKIE_PERIOD_MS);
  const b = sc.generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  t.not(a >>> 8, b >>> 8);
  t.is(b & 0x1f, (a + 1) & 0x1f, 'the counter ticks');
});

test('different secrets make different cookies; the default secret is random', (t) => {
  const clock = new ManualClock(1000);
  const a = new SynCookies({ clock, secret: SECRET }).generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  const b = new SynCookies({ clock, secret: new Uint8Array(32).fill(1) }).generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  const c = new SynCookies({ clock }).generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  const d = new SynCookies({ clock }).generate(LOCAL, REMOTE, 80, 40000, PEER_ISN, 1460);
  t.not(a, b);
  t.not(c, d);
});

const mssCase = test.macro({
  exec(t, mss: number, want: number) {
    t.is(SYN_COOKIE_MSS_TABLE[mssIndex(mss)], want);
    const { sc } = setup();
    const iss = sc.generate(LOCAL, REMOTE, 80, 40000, 7, mss);
    t.is((iss >>> 5) & 7, mssIndex(mss));
    t.is(sc.validate(LOCAL, REMOTE, 80, 40000, 8, (iss + 1) >>> 0), want);
  },
  title: (what = '', mss: number, want: number) => `MSS ${mss} is encoded as ${want} ${what}`.trim(),
});
test(mssCase, 1460, 1460);
test(mssCase, 1440, 1440);
test('(largest entry not above)', mssCase, 1400, 1360);
test(mssCase, 536, 536);
test('(below the table: the smallest)', mssCase, 500, 536);
test(mssCase, 9000, 8960);
test(mssCase, 65535, 8960);
test(mssCase, 4312, 4312);

test('addresses must be 4 or 16 bytes; short secrets are refused', (t) => {
  const { sc } = setup();
  t.throws(() => sc.generate(new Uint8Array(5), REMOTE, 1, 2, 3, 1460), { instanceOf: PktRangeError });
  t.throws(() => new SynCookies({ clock: new ManualClock(), secret: new Uint8Array(8) }), { instanceOf: PktRangeError });
});

