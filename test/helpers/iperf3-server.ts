/**
 * The server side of iperf3's TCP test protocol (iperf3 3.x), on a vtcp listener, so that the
 * real `iperf3 -c` can measure a vtcp sink. Only what a TCP upload test (`-c host -t N`, one or
 * more `-P` streams, not `-R`) needs:
 *
 *   control:  client sends its 37-byte cookie (36 characters and a NUL)
 *             server: PARAM_EXCHANGE (one signed byte, 9)
 *             client: parameters as JSON, behind a 4-byte big-endian length
 *             server: CREATE_STREAMS (10)
 *   streams:  the client opens one connection per stream; each starts with the same cookie
 *             server: TEST_START (1), TEST_RUNNING (2)            (once every stream is there)
 *   data:     the client sends for the test's duration on the streams; the server counts
 *   control:  client: TEST_END (4); server: EXCHANGE_RESULTS (13)
 *             client: its results (length + JSON); server: its results (length + JSON)
 *             server: DISPLAY_RESULTS (14); client: IPERF_DONE (16)
 *
 * The server's results carry per stream the bytes it received, which the client prints as the
 * receiver's line; iperf3 requires cpu_util_total/user/system and sender_has_retransmits.
 */
import type { Conn } from '../../src/vtcp/conn.js';
import type { TcpStack } from '../../src/vtcp/stack.js';

const COOKIE_LEN = 37;
const TEST_START = 1;
const TEST_RUNNING = 2;
const TEST_END = 4;
const PARAM_EXCHANGE = 9;
const CREATE_STREAMS = 10;
const EXCHANGE_RESULTS = 13;
const DISPLAY_RESULTS = 14;
const IPERF_DONE = 16;

/** What one test measured at our end. */
export interface Iperf3ServerResult {
  /** Bytes received on each stream, in the order the streams connected. */
  streamBytes: number[];
  /** First data byte to TEST_END, in seconds. */
  seconds: number;
  /** The client's parameters as it sent them. */
  params: Record<string, unknown>;
  /** The client's own results as it sent them. */
  clientResults: Record<string, unknown>;
}

/** Reads exact byte counts from a Conn, in order. */
class Reader {
  private buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private want = 0;
  private wake: (() => void) | null = null;
  private ended = false;
  constructor(c: Conn) {
    c.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      if (this.wake !== null && this.buf.length >= this.want) this.wake();
    });
    c.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`iperf3 control connection ended while ${n} bytes were expected`);
      this.want = n;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

function state(c: Conn, s: number): void {
  c.write(Buffer.from([s & 0xff]));
}

function sendJson(c: Conn, v: unknown): void {
  const body = Buffer.from(JSON.stringify(v));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  c.write(Buffer.concat([len, body]));
}

async function readJson(r: Reader): Promise<Record<string, unknown>> {
  const len = (await r.read(4)).readUInt32BE(0);
  if (len > 1 << 20) throw new Error(`iperf3 JSON of ${len} bytes`);
  return JSON.parse((await r.read(len)).toString('utf8')) as Record<string, unknown>;
}

/** Serves one iperf3 TCP test on `port` of `stack`; resolves with what we counted. */
export function iperf3Server(stack: TcpStack, port = 5201): Promise<Iperf3ServerResult> {
  const server = stack.listen(port);
  return new Promise<Iperf3ServerResult>((resolve, reject) => {
    let control: Conn | null = null;
    let cookie = '';
    let wanted = 1;
    const streams: { conn: Conn; bytes: number }[] = [];
    let firstByte = 0;
    let allStreams: () => void = () => {};
    const streamsReady = new Promise<void>((r) => (allStreams = r));

    const run = async (c: Conn, r: Reader): Promise<void> => {
      cookie = (await r.read(COOKIE_LEN)).toString('latin1');
      state(c, PARAM_EXCHANGE);
      const params = await readJson(r);
      if (params['tcp'] !== true || params['reverse'] === true) throw new Error(`only TCP upload tests are served: ${JSON.stringify(params)}`);
      wanted = typeof params['parallel'] === 'number' ? params['parallel'] : 1;
      state(c, CREATE_STREAMS);
      await streamsReady;
      state(c, TEST_START);
      state(c, TEST_RUNNING);
      const end = (await r.read(1))[0];
      if (end !== TEST_END) throw new Error(`iperf3 client sent state ${end}, expected TEST_END`);
      const seconds = firstByte === 0 ? 0 : (performance.now() - firstByte) / 1000;
      state(c, EXCHANGE_RESULTS);
      const clientResults = await readJson(r);
      // What reached us by TEST_END is the test's count (iperf3's own server does the same).
      const counted = streams.map((s) => s.bytes);
      sendJson(c, {
        cpu_util_total: 0,
        cpu_util_user: 0,
        cpu_util_system: 0,
        sender_has_retransmits: -1,
        streams: counted.map((bytes, i) => ({ id: i + 1, bytes, retransmits: -1, jitter: 0, errors: 0, packets: 0, start_time: 0, end_time: seconds })),
      });
      state(c, DISPLAY_RESULTS);
      const done = (await r.read(1))[0];
      if (done !== IPERF_DONE) throw new Error(`iperf3 client sent state ${done}, expected IPERF_DONE`);
      c.end();
      for (const s of streams) s.conn.destroy();
      server.close();
      resolve({ streamBytes: counted, seconds, params, clientResults });
    };

    server.on('connection', (c: Conn) => {
      c.on('error', () => {});
      if (control === null) {
        control = c;
        run(c, new Reader(c)).catch(reject);
        return;
      }
      // A stream: its cookie first, then data to count.
      const s = { conn: c, bytes: 0 };
      let head: Buffer<ArrayBufferLike> = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        if (head.length < COOKIE_LEN) {
          head = Buffer.concat([head, d]);
          if (head.length < COOKIE_LEN) return;
          if (head.subarray(0, COOKIE_LEN).toString('latin1') !== cookie) {
            c.destroy();
            return;
          }
          streams.push(s);
          d = head.subarray(COOKIE_LEN);
          if (streams.length === wanted) allStreams();
        }
        if (d.length > 0 && firstByte === 0) firstByte = performance.now();
        s.bytes += d.length;
      });
    });
  });
}
