/**
 * WireGuard constants: the protocol's (whitepaper §6, wireguard-go `device/constants.go`,
 * `device/noise-protocol.go`) apart from this implementation's own limits, as wireguard-go keeps
 * them apart. Message layouts are in ../shared/notes/wireguard-protocol.md §1; the offsets here are
 * named after its fields. All integers on the wire are little-endian.
 */

// ---------------------------------------------------------------------------------------------
// Spec: message types and sizes (§1)

export const MessageType = {
  Initiation: 1,
  Response: 2,
  CookieReply: 3,
  Transport: 4,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const INITIATION_LEN = 148;
export const RESPONSE_LEN = 92;
export const COOKIE_REPLY_LEN = 64;
/** Transport header: type+reserved (4), receiver index (4), counter (8). */
export const TRANSPORT_HEADER_LEN = 16;
export const TAG_LEN = 16;
/** A keepalive: header and tag around an empty plaintext. */
export const TRANSPORT_MIN_LEN = TRANSPORT_HEADER_LEN + TAG_LEN;
export const TRANSPORT_MAX_LEN = 65535;
export const KEY_LEN = 32;
export const MAC_LEN = 16;
export const TAI64N_LEN = 12;
export const COOKIE_NONCE_LEN = 24;

/** Initiation (type 1) field offsets. */
export const Init = {
  Sender: 4,
  Ephemeral: 8,
  Static: 40,
  Timestamp: 88,
  Mac1: 116,
  Mac2: 132,
} as const;

/** Response (type 2) field offsets. */
export const Resp = {
  Sender: 4,
  Receiver: 8,
  Ephemeral: 12,
  Empty: 44,
  Mac1: 60,
  Mac2: 76,
} as const;

/** Cookie reply (type 3) field offsets. */
export const Cookie = {
  Receiver: 4,
  Nonce: 8,
  Encrypted: 32,
} as const;

/** Transport (type 4) field offsets. */
export const Data = {
  Receiver: 4,
  Counter: 8,
  Payload: 16,
} as const;

// ---------------------------------------------------------------------------------------------
// Spec: timers and limits (§4.1)

/** REKEY_AFTER_MESSAGES = 2^60: as the high u32 of the counter, 2^28. */
export const REKEY_AFTER_MESSAGES_HI = 2 ** 28;
/** REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1, as hi/lo u32 words. */
export const REJECT_AFTER_MESSAGES_HI = 0xffff_ffff;
export const REJECT_AFTER_MESSAGES_LO = 0xffff_dfff;
export const REKEY_AFTER_TIME_MS = 120_000;
export const REJECT_AFTER_TIME_MS = 180_000;
export const REKEY_ATTEMPT_TIME_MS = 90_000;
export const REKEY_TIMEOUT_MS = 5_000;
/** wireguard-go `RekeyTimeoutJitterMaxMs`: jitter is uniform in [0, 334) ms. */
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
export const COOKIE_REFRESH_TIME_MS = 120_000;
/** `HandshakeInitationRate`: at most one accepted initiation per peer per 20 ms. */
export const HANDSHAKE_INITIATION_RATE_MS = 20;
/** 90 s / 5 s: retransmits before giving up (after 1 + 19 initiations). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME_MS / REKEY_TIMEOUT_MS;
/** All keys are zeroed 3 x REJECT_AFTER_TIME after the last session derivation. */
export const ZERO_KEYS_AFTER_MS = 3 * REJECT_AFTER_TIME_MS;
/** keepKeyFreshReceiving: REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT = 165 s. */
export const REKEY_ON_RECEIVE_AGE_MS = REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS;
export const DEFAULT_MTU = 1420;

// ---------------------------------------------------------------------------------------------
// Implementation limits (options where they matter)

/** Packets staged per peer while no keypair can send (wireguard-go `QueueStagedSize`). */
export const STAGED_QUEUE_LEN = 128;
/** wireguard-go `MaxPeers`. */
export const MAX_PEERS = 65536;
/** Receiver indices in use: per peer one handshake and three keypairs. */
export const MAX_INDICES = 4 * MAX_PEERS;
