/**
 * CaptureFile: records the traffic of devices and hub ports into a pcapng file (several
 * interfaces, each with its own link type and name, directions, drop statistics) or a classic
 * pcap file (one link type), which `tshark -r` and Wireshark open.
 *
 *   const cap = await CaptureFile.open('run.pcapng');
 *   const dev = cap.tapL2(adapter, 'vm0');            // wire `dev` where `adapter` was
 *   const portTap = cap.addInterface('hub-port-1', LINKTYPE_ETHERNET);   // a PacketTap for a hub port
 *   ...
 *   await cap.close();                                 // everything tapped before is in the file
 *
 * Packet path (CaptureInterface.tap, synchronous, on the caller's stack): clamp to snaplen,
 * reserve room in the ChunkWriter's current chunk, read the clock, encode the EPB (or pcap
 * record) straight into the chunk. No closures, object literals, views or strings per packet.
 * A packet that does not fit under `maxBufferedBytes` is dropped and counted on its interface;
 * a tap never throws. Full chunks are written by an async loop (chunk-writer.ts).
 *
 * Timestamps: microseconds since the Unix epoch (if_tsresol 6 in pcapng, magic 0xa1b2c3d4 in
 * pcap), from an injectable clock in milliseconds (by default `performance.timeOrigin +
 * performance.now()`). Microseconds and not nanoseconds because an epoch time in milliseconds as
 * a double is only good to about 0.25 µs, and because epoch microseconds stay exact integers in a
 * double (below 2^53) where epoch nanoseconds would not.
 *
 * Snaplen: one per file (default 262144, the largest that Wireshark reads without complaint);
 * longer packets are stored truncated with their original length recorded.
 *
 * Not supported: reading captures, several sections, per-interface snaplens, nanosecond
 * timestamps, compression. Not safe for use from several threads: one file per worker.
 */

import { open as openFile, type FileHandle } from 'node:fs/promises';
import type { L2Device, L3Device, PacketTap, TapDirection } from '../core/device.js';
import { ClosedError, ConfigError, PktError, PktTypeError, intInRange } from '../errors.js';
import { ChunkWriter, type CaptureSink } from './chunk-writer.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, linkTypeName } from './linktype.js';
import { emitPcapRecord, encodePcapHeader, pcapRecordLen } from './pcap.js';
import { TSRESOL_MICROSECONDS, emitEpb, encodeIdb, encodeIsb, encodeShb, epbLen, timestampHigh, timestampLow } from './pcapng.js';
import { TappedL2, TappedL3 } from './tapped.js';

export type { CaptureSink } from './chunk-writer.js';

export type CaptureFormat = 'pcapng' | 'pcap';

/** Wall-clock time source: milliseconds since the Unix epoch (fractions welcome). */
export interface CaptureClock {
  now(): number;
}

export interface CaptureOptions {
  /** 'pcapng' (default) or 'pcap'. */
  format?: CaptureFormat;
  /** Bytes kept per packet, 1 to MAX_SNAPLEN; default DEFAULT_SNAPLEN. */
  snaplen?: number;
  /** Bytes that may wait to be written before packets are dropped; default 4 MiB. */
  maxBufferedBytes?: number;
  /** Time source for timestamps; default `performance.timeOrigin + performance.now()`. */
  clock?: CaptureClock;
  /**
   * Every this many milliseconds a partly filled buffer is written out if the writer is idle, so
   * that a live reader (or a crash) sees recent packets. 0 disables; default 1000. The timer is
   * unref'd: it never keeps the process alive.
   */
  flushIntervalMs?: number;
}

/** Counters of one interface. `bytes` sums the original (untruncated) lengths of recorded packets. */
export interface CaptureInterfaceStats {
  id: number;
  name: string;
  linkType: number;
  packets: number;
  bytes: number;
  drops: number;
}

export interface CaptureStats {
  packets: number;
  bytes: number;
  drops: number;
  /** Indexed by interface id. */
  interfaces: CaptureInterfaceStats[];
}

/** The largest snaplen accepted: Wireshark rejects records longer than 262144 bytes. */
export const MAX_SNAPLEN = 262144;
export const DEFAULT_SNAPLEN = MAX_SNAPLEN;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** Interface names longer than this (in UTF-8 bytes) are refused, so an IDB always fits a chunk. */
export const MAX_INTERFACE_NAME_BYTES = 1024;
const CHUNK_BYTES = 64 * 1024;
const MAX_BUFFERED_LIMIT = 1 << 30;
const MAX_FLUSH_INTERVAL_MS = 3_600_000;
const US_PER_MS = 1000;
const US_PER_S = 1_000_000;
/** pcapng interface IDs are u32; a bound far below that keeps the ISB loop at close sane. */
const MAX_INTERFACES = 65536;
const USER_APPL = 'pktkit';

// Slots of CaptureInterface.counts.
const PACKETS = 0;
const BYTES = 1;
const DROPS = 2;

const defaultClock: CaptureClock = { now: () => performance.timeOrigin + performance.now() };

const utf8 = new TextEncoder();

interface ResolvedOptions {
  pcapng: boolean;
  snaplen: number;
  maxBufferedBytes: number;
  clock: CaptureClock;
  flushIntervalMs: number;
}

function resolveOptions(o: CaptureOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new PktTypeError(`capture: expected an options object, got ${typeof o}`);
  const format = o.format ?? 'pcapng';
  if (format !== 'pcapng' && format !== 'pcap') {
    throw new PktTypeError(`capture: format must be 'pcapng' or 'pcap', got ${JSON.stringify(String(format))}`);
  }
  const clock = o.clock ?? defaultClock;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
    throw new PktTypeError('capture: clock must be an object with a now() method returning epoch milliseconds');
  }
  return {
    pcapng: format === 'pcapng',
    snaplen: intInRange('snaplen', o.snaplen ?? DEFAULT_SNAPLEN, 1, MAX_SNAPLEN),
    maxBufferedBytes: intInRange('maxBufferedBytes', o.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES, 1, MAX_BUFFERED_LIMIT),
    clock,
    flushIntervalMs: intInRange('flushIntervalMs', o.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS, 0, MAX_FLUSH_INTERVAL_MS),
  };
}

/** Adapts a node:fs/promises FileHandle to a CaptureSink. */
class FileSink implements CaptureSink {
  private readonly fh: FileHandle;
  constructor(fh: FileHandle) {
    this.fh = fh;
  }
  async write(buf: Uint8Array, off: number, len: number): Promise<number> {
    const r = await this.fh.write(buf, off, len);
    return r.bytesWritten;
  }
  close(): Promise<void> {
    return this.fh.close();
  }
}

/**
 * One interface of a capture file, and the PacketTap that records into it. Get one from
 * `CaptureFile.addInterface` (or implicitly from `tapL2`/`tapL3`) and hand it to whatever
 * offers traffic to a tap (a hub port, a tap wrapper).
 */
export class CaptureInterface implements PacketTap {
  /** Interface ID in the file (pcapng: the IDB's index). */
  readonly id: number;
  readonly name: string;
  readonly linkType: number;
  /** When the interface was added, in microseconds since the epoch (isb_starttime). */
  readonly startTimeUs: number;
  // Packets recorded, their original bytes, drops. A Float64Array rather than three fields: the
  // counts pass 2^31 without V8 changing a field's representation (and the object's map).
  private readonly counts = new Float64Array(3);
  private readonly writer: ChunkWriter;
  private readonly clock: CaptureClock;
  private readonly snaplen: number;
  private readonly pcapng: boolean;

  /** @internal Use CaptureFile.addInterface. */
  constructor(id: number, name: string, linkType: number, startTimeUs: number, writer: ChunkWriter, opts: ResolvedOptions) {
    this.id = id;
    this.name = name;
    this.linkType = linkType;
    this.startTimeUs = startTimeUs;
    this.writer = writer;
    this.clock = opts.clock;
    this.snaplen = opts.snaplen;
    this.pcapng = opts.pcapng;
  }

  /**
   * Records one packet. `data` is borrowed: it is copied (up to snaplen bytes) before this
   * returns. Never throws: a packet that cannot be recorded (buffer bound reached, file closed or
   * failed, a clock that throws) is dropped and counted.
   */
  tap(data: Uint8Array, direction: TapDirection): void {
    const counts = this.counts;
    try {
      const origLen = data.length;
      const capLen = origLen < this.snaplen ? origLen : this.snaplen;
      const w = this.writer;
      if (this.pcapng) {
        const off = w.reserve(epbLen(capLen));
        if (off < 0) {
          counts[DROPS] = counts[DROPS]! + 1;
          return;
        }
        const us = Math.floor(this.clock.now() * US_PER_MS);
        w.commit(emitEpb(w.chunk, off, this.id, timestampHigh(us), timestampLow(us), data, capLen, origLen, direction));
      } else {
        const off = w.reserve(pcapRecordLen(capLen));
        if (off < 0) {
          counts[DROPS] = counts[DROPS]! + 1;
          return;
        }
        const us = Math.floor(this.clock.now() * US_PER_MS);
        const sec = Math.floor(us / US_PER_S);
        w.commit(emitPcapRecord(w.chunk, off, sec, us - sec * US_PER_S, data, capLen, origLen));
      }
      counts[PACKETS] = counts[PACKETS]! + 1;
      counts[BYTES] = counts[BYTES]! + origLen;
    } catch {
      counts[DROPS] = counts[DROPS]! + 1;
    }
  }

  get packets(): number {
    return this.counts[PACKETS]!;
  }

  get bytes(): number {
    return this.counts[BYTES]!;
  }

  get drops(): number {
    return this.counts[DROPS]!;
  }

  stats(): CaptureInterfaceStats {
    return { id: this.id, name: this.name, linkType: this.linkType, packets: this.packets, bytes: this.bytes, drops: this.drops };
  }
}

/**
 * A capture file being written. Open with `CaptureFile.open(path, options)` (or `toSink` for
 * another destination), add interfaces or tap devices, and `close()` when done.
 */
export class CaptureFile {
  readonly format: CaptureFormat;
  readonly snaplen: number;
  /** The path, or the label given to `toSink`. */
  readonly path: string;
  private readonly opts: ResolvedOptions;
  private readonly writer: ChunkWriter;
  private readonly interfaces: CaptureInterface[] = [];
  private readonly timer: NodeJS.Timeout | null;
  private closing: Promise<void> | null = null;

  private constructor(sink: CaptureSink, label: string, opts: ResolvedOptions) {
    this.format = opts.pcapng ? 'pcapng' : 'pcap';
    this.snaplen = opts.snaplen;
    this.path = label;
    this.opts = opts;
    // A chunk holds at least the largest record, so a record never spans two chunks.
    const maxRecord = opts.pcapng ? epbLen(opts.snaplen) : pcapRecordLen(opts.snaplen);
    this.writer = new ChunkWriter(sink, Math.max(CHUNK_BYTES, maxRecord), opts.maxBufferedBytes, label);
    // The classic pcap header names the link type, so it waits for the first interface.
    if (opts.pcapng) this.writer.appendMeta(encodeShb({ userAppl: USER_APPL }));
    if (opts.flushIntervalMs > 0) {
      const writer = this.writer;
      this.timer = setInterval(() => writer.flushIfIdle(), opts.flushIntervalMs);
      this.timer.unref();
    } else {
      this.timer = null;
    }
  }

  /**
   * Creates (or truncates) the file at `path` and starts a capture into it.
   * @throws {PktTypeError|PktRangeError} for bad options (checked before the file is created).
   * @throws {PktError} ERR_PKT_IO when the file cannot be opened.
   */
  static async open(path: string, options: CaptureOptions = {}): Promise<CaptureFile> {
    if (typeof path !== 'string' || path === '') throw new PktTypeError('capture: expected a file path');
    const opts = resolveOptions(options);
    let fh: FileHandle;
    try {
      fh = await openFile(path, 'w');
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new PktError('ERR_PKT_IO', `capture: cannot open ${path}: ${msg}`, { cause: err });
    }
    return new CaptureFile(new FileSink(fh), path, opts);
  }

  /**
   * Starts a capture into any sink (a socket, a pipe to `wireshark -k -i -`, a test double).
   * `label` names it in errors. @throws {PktTypeError|PktRangeError} for bad options.
   */
  static toSink(sink: CaptureSink, options: CaptureOptions = {}, label = 'capture sink'): CaptureFile {
    if (sink === null || typeof sink !== 'object' || typeof sink.write !== 'function' || typeof sink.close !== 'function') {
      throw new PktTypeError('capture: a sink needs write(buf, off, len) and close() methods');
    }
    return new CaptureFile(sink, label, resolveOptions(options));
  }

  /**
   * Adds an interface and returns the PacketTap that records into it. In pcapng every interface
   * has its own name and link type; a classic pcap file has one link type, and interfaces that
   * share it are merged (their names are not stored).
   * @throws {ClosedError} after close().
   * @throws {PktTypeError} when `name` is not a string or too long.
   * @throws {PktRangeError} when `linkType` is not a 16-bit integer.
   * @throws {ConfigError} (code ERR_PKT_CONFIG) for a second link type in a classic pcap file.
   */
  addInterface(name: string, linkType: number): CaptureInterface {
    if (this.closing !== null) throw new ClosedError(`capture file ${this.path}`);
    if (typeof name !== 'string') throw new PktTypeError(`capture: interface name must be a string, got ${typeof name}`);
    const nameBytes = utf8.encode(name).length;
    if (nameBytes > MAX_INTERFACE_NAME_BYTES) {
      throw new PktTypeError(`capture: interface name must be at most ${MAX_INTERFACE_NAME_BYTES} UTF-8 bytes, got ${nameBytes}`);
    }
    intInRange('linkType', linkType, 0, 0xffff);
    if (this.interfaces.length >= MAX_INTERFACES) {
      throw new PktError('ERR_PKT_LIMIT', `capture: at most ${MAX_INTERFACES} interfaces per file`);
    }
    const first = this.interfaces[0];
    if (!this.opts.pcapng && first !== undefined && first.linkType !== linkType) {
      throw new ConfigError(
        `capture: a classic pcap file holds one link type: ${this.path} has ${linkTypeName(first.linkType)} (${first.linkType}) ` +
          `from interface '${first.name}', got ${linkTypeName(linkType)} (${linkType}) for '${name}'; use format 'pcapng'`,
      );
    }
    if (this.opts.pcapng) {
      this.writer.appendMeta(encodeIdb({ linkType, snaplen: this.snaplen, name, tsresol: TSRESOL_MICROSECONDS }));
    } else if (first === undefined) {
      this.writer.appendMeta(encodePcapHeader({ snaplen: this.snaplen, linkType, nanos: false }));
    }
    const ifc = new CaptureInterface(this.interfaces.length, name, linkType, this.nowUs(), this.writer, this.opts);
    this.interfaces.push(ifc);
    return ifc;
  }

  /**
   * Wraps an L2 device so that its frames are recorded, both ways, on a new Ethernet interface
   * named `name`. Use the returned device in place of `dev`. @throws as addInterface.
   */
  tapL2(dev: L2Device, name: string): TappedL2 {
    return new TappedL2(dev, this.addInterface(name, LINKTYPE_ETHERNET));
  }

  /**
   * Wraps an L3 device so that its IPv4 and IPv6 packets are recorded, both ways, on a new raw-IP
   * interface named `name`. Use the returned device in place of `dev`. @throws as addInterface.
   */
  tapL3(dev: L3Device, name: string): TappedL3 {
    return new TappedL3(dev, this.addInterface(name, LINKTYPE_RAW));
  }

  /** Counters per interface and in total. Cold path: allocates. */
  stats(): CaptureStats {
    const interfaces = this.interfaces.map((i) => i.stats());
    let packets = 0;
    let bytes = 0;
    let drops = 0;
    for (const s of interfaces) {
      packets += s.packets;
      bytes += s.bytes;
      drops += s.drops;
    }
    return { packets, bytes, drops, interfaces };
  }

  /** Bytes recorded but not yet written to the file. */
  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }

  /**
   * Writes out everything recorded so far (the file stays open).
   * @throws {PktError} ERR_PKT_IO when a write failed.
   */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Writes the interface statistics (pcapng), flushes everything recorded and closes the file;
   * resolves when the file is complete. Packets tapped afterwards are dropped and counted.
   * Idempotent: every call returns the same promise.
   * @throws {PktError} ERR_PKT_IO when a write or the close failed.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.finish();
    return this.closing;
  }

  // Runs synchronously up to writer.close(), which stops further records: no packet can slip in
  // between the statistics being taken and the writer closing.
  private async finish(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.opts.pcapng) {
      const now = this.nowUs();
      for (const ifc of this.interfaces) {
        this.writer.appendMeta(
          encodeIsb({
            interfaceId: ifc.id,
            timestamp: now,
            startTime: ifc.startTimeUs,
            endTime: now,
            ifRecv: ifc.packets + ifc.drops,
            ifDrop: ifc.drops,
            usrDeliv: ifc.packets,
          }),
        );
      }
    } else if (this.interfaces.length === 0) {
      // An empty classic pcap still needs its header to be a valid file; Ethernet is as good as any.
      this.writer.appendMeta(encodePcapHeader({ snaplen: this.snaplen, linkType: LINKTYPE_ETHERNET, nanos: false }));
    }
    await this.writer.close();
  }

  /** The clock in epoch microseconds, for metadata; 0 if the clock fails or is not finite. */
  private nowUs(): number {
    try {
      const us = Math.floor(this.opts.clock.now() * US_PER_MS);
      return Number.isSafeInteger(us) && us >= 0 ? us : 0;
    } catch {
      return 0;
    }
  }
}
