/**
 * pktkit/wg: WireGuard (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s) as a sans-I/O protocol core and
 * a device with an L3Device inner side. See device.ts for the interface, noise.ts, cookie.ts,
 * transport.ts, replay.ts, peer.ts and allowed-ips.ts for the protocol pieces, uapi*.ts for the
 * configuration protocol wg(8) speaks (`serveUapi`).
 */

export { WgDevice } from './device.js';
export { WgConcentrator, WgPeerPort, type WgConcentratorOptions, type WgConcentratorStats } from './concentrator.js';
export { HandshakeOffload, inlineJobRunner, type HandshakeJobRunner, type HandshakeOffloadOptions } from './handshake-offload.js';
export { consumeInitiationJob, createResponseJob, type ConsumeInitiationPayload, type ConsumeInitiationResult, type CreateResponsePayload, type CreateResponseResult } from './handshake-jobs.js';
export type { WgDeviceOptions, WgPeerConfig, WgPeerInfo, WgDeviceInfo } from './config.js';
export { WgPeer, PeerStat, StagedQueue, type PeerHost } from './peer.js';
export { MemoryBind, MemoryLink, ENDPOINT_WORDS, parseEndpoint, formatEndpoint, type WgBind, type WgBindReceiver, type MemoryDatagram } from './bind.js';
export { BatchedUdpBind, DgramBind, type BatchedUdpSocketLike, type DgramBindOptions } from './bind-udp.js';
export { AllowedIps } from './allowed-ips.js';
export { ReplayFilter, REPLAY_WINDOW } from './replay.js';
export { Keypair, TransportBatch, sealTransport, openTransport, paddingSize, sealedLength, innerPacketLength } from './transport.js';
export { CookieChecker, CookieGenerator, HandshakeGate, HandshakeRateLimiter, LoadDetector } from './cookie.js';
export {
  StaticIdentity, Handshake, HandshakeState, createInitiation, consumeInitiation, createResponse, consumeResponse, beginSession, type SessionKeys,
} from './noise.js';
export { genkey, genpsk, pubkey, keyToBase64, keyFromBase64, keyToHex, keyFromHex, generateKeyPair, keyPairFromPrivate, type KeyPair } from './crypto.js';
export { WgDrop, WG_DROP_NAMES, WgDropCounters } from './stats.js';
export * from './constants.js';
export { parseWgQuick, formatWgQuick, type WgQuickConfig } from './wg-quick.js';
export { CoarseTime } from './coarse-time.js';
export { IndexTable, PeerTable } from './tables.js';
export {
  UapiErrno, parseUapiSet, formatUapiSet, parseUapiGet, formatUapiGet, uapiSetFromState, ZERO_KEY_HEX,
  type UapiSet, type UapiPeerSet, type UapiAllowedIpOp, type UapiDeviceState, type UapiPeerState, type UapiFailure, type UapiSetResult, type UapiGetResult,
} from './uapi.js';
export { WgUapi, applyUapiSet, uapiState, setPrivateKey, type UapiApplyOptions, type UapiRebind, type UapiSetOutcome } from './uapi-device.js';
export { serveUapi, UapiServer, UAPI_SOCKET_DIR, type UapiServerOptions } from './uapi-server.js';
