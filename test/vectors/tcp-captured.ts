/**
 * TCP segments written by the Linux kernel (6.18.44) to a TUN device, captured on 2026-11-22 with
 * test/vectors/capture-tcp.py (Python 3 driving the TUN; the kernel's own TCP as a server). Every
 * byte and checksum here was written by the kernel; the peer's segments that provoked them were
 * written by the script and are not stored.
 *
 * Whole IPv4 packets (20-byte header, no options), kernel 10.98.0.1:8080 <-> peer 10.98.0.2:50123.
 * The peer's SYN asked for ECN (ECE|CWR), MSS 1400, SACK-permitted, timestamps (TSval 0x00010000)
 * and window scale 7, and sent its data out of order to make the kernel SACK.
 */

/** SYN-ACK with ECE (ECN accepted): MSS 1460, SACK-permitted + timestamps, NOP, window scale 10. */
export const KERNEL_TCP_SYNACK =
  '4500003c00004000400625f60a6200010a6200021f90c3cbbe63fa7510000001a052fe882c7a0000020405b40402080a' +
  'dd2a7e81000100000103030a';

/** PSH|ACK carrying 20 bytes "pktkit kernel data\r\n" (IP ECN field ECT(0)), NOP NOP timestamps. */
export const KERNEL_TCP_DATA =
  '45020048e1434000400644a40a6200010a6200021f90c3cbbe63fa761000000180180040c53900000101080add2a7e81' +
  '00010001706b746b6974206b65726e656c20646174610d0a';

/** Duplicate ACK, NOP NOP timestamps NOP NOP SACK with one block. */
export const KERNEL_TCP_SACK1 =
  '45000040e1444000400644ad0a6200010a6200021f90c3cbbe63fa8a10000001b0100040038500000101080add2a7e81' +
  '000100020101050a1000000b10000015';

/** Duplicate ACK with two SACK blocks, the most recent first (RFC 2018 §4). */
export const KERNEL_TCP_SACK2 =
  '45000048e1454000400644a40a6200010a6200021f90c3cbbe63fa8a10000001d0100040c32c00000101080add2a7e81' +
  '00010002010105121000001f100000291000000b10000015';

/**
 * Duplicate ACK with three SACK blocks: with timestamps, 40 bytes of options, the most there is
 * room for.
 */
export const KERNEL_TCP_SACK3 =
  '45000050e14640004006449b0a6200010a6200021f90c3cbbe63fa8a10000001f010004082ac00000101080add2a7e81' +
  '000100020101051a100000331000003d1000001f100000291000000b10000015';

/** FIN|ACK after close(), still carrying the three SACK blocks. */
export const KERNEL_TCP_FIN =
  '45000050e14740004006449a0a6200010a6200021f90c3cbbe63fa8a10000001f011004082ab00000101080add2a7e81' +
  '000100020101051a100000331000003d1000001f100000291000000b10000015';
