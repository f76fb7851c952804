/**
 * pktkit/capture: record device and hub-port traffic into pcapng or classic pcap files that
 * tshark and Wireshark open, plus the block encoders underneath.
 */

export {
  CaptureFile,
  CaptureInterface,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_SNAPLEN,
  MAX_INTERFACE_NAME_BYTES,
  MAX_SNAPLEN,
  type CaptureClock,
  type CaptureFormat,
  type CaptureInterfaceStats,
  type CaptureOptions,
  type CaptureSink,
  type CaptureStats,
} from './capture.js';
export { TappedL2, TappedL3 } from './tapped.js';
export { LINKTYPE_ETHERNET, LINKTYPE_RAW, linkTypeName } from './linktype.js';
export {
  EPB_FLAG_DIR_INBOUND,
  EPB_FLAG_DIR_OUTBOUND,
  EPB_FLAG_DIR_UNKNOWN,
  PCAPNG_BLOCK_EPB,
  PCAPNG_BLOCK_IDB,
  PCAPNG_BLOCK_ISB,
  PCAPNG_BLOCK_SHB,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_MAX_OPTION_LEN,
  PCAPNG_VERSION_MAJOR,
  PCAPNG_VERSION_MINOR,
  PcapngOption,
  TSRESOL_MICROSECONDS,
  TSRESOL_NANOSECONDS,
  emitEpb,
  emitIdb,
  emitIsb,
  emitShb,
  encodeIdb,
  encodeIsb,
  encodeShb,
  epbLen,
  idbEmitLen,
  isbEmitLen,
  pad4,
  shbEmitLen,
  timestampHigh,
  timestampLow,
  type IdbFields,
  type IsbFields,
  type ShbFields,
} from './pcapng.js';
export {
  PCAP_FILE_HEADER_LEN,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LEN,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
  emitPcapHeader,
  emitPcapRecord,
  encodePcapHeader,
  pcapRecordLen,
  type PcapHeaderFields,
} from './pcap.js';
