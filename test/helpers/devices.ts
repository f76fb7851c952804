/** Test doubles: pipes that record copies of what they are sent. */
import { PipeL2, PipeL3 } from '../../src/core/pipe.js';
import { newFrame } from '../../src/core/frame.js';
import { EtherType } from '../../src/wire/ethernet.js';

export class RecordingL2 extends PipeL2 {
  readonly got: Uint8Array[] = [];
  constructor(mac: number) {
    super(mac);
    this.onSend = (f) => this.got.push(f.slice());
  }
}

export class RecordingL3 extends PipeL3 {
  readonly got: Uint8Array[] = [];
  constructor(addr: string | null) {
    super(addr);
    this.onSend = (p) => this.got.push(p.slice());
  }
}

/** A small IPv4-typed frame from `src` to `dst` carrying `tag` as its only payload byte. */
export function frameTo(dst: number, src: number, tag = 0): Uint8Array {
  return newFrame(dst, src, EtherType.IPv4, new Uint8Array([tag]));
}
