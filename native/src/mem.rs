//! Bulk byte operations for JavaScript, which lacks them without allocating.
//!
//! Node 20 has no allocation-free copy between two typed arrays at arbitrary offsets:
//! `dst.set(src.subarray(..))` and `Buffer.prototype.copy` make a view of the source range per
//! call, and a loop of DataView loads and stores (what the TCP buffers use to stay
//! allocation-free) moves 2-5 GB/s. One Node-API call costs a few tens of nanoseconds and makes
//! no JavaScript object, and `memmove` behind it moves tens of GB/s: for copies of a few hundred
//! bytes and more it wins. The Internet checksum's sum over large ranges (64 KiB TCP segments at
//! MTU 65520) is here for the same reason: about 5 GB/s in JavaScript, several times that here.
//! Always built (no feature): it has no dependencies.

use napi::bindgen_prelude::*;
use napi_derive::napi;

fn range_error(what: &str, off: u32, len: u32, size: usize) -> Error {
    Error::new(Status::InvalidArg, format!("memCopy: {what} range [{off}, {off} + {len}) is outside its array of {size} bytes"))
}

/// Copies `src[srcOff, srcOff + len)` to `dst[dstOff, ...)` (memmove: the two may share memory,
/// even overlap). Works on views of ArrayBuffers and SharedArrayBuffers alike.
/// @throws when a range is out of bounds.
#[napi]
pub fn mem_copy(mut dst: Uint8ArraySlice, dst_off: u32, src: Uint8ArraySlice, src_off: u32, len: u32) -> Result<()> {
    let (d, s, n) = (dst_off as usize, src_off as usize, len as usize);
    if s + n > src.len() {
        return Err(range_error("source", src_off, len, src.len()));
    }
    if d + n > dst.len() {
        return Err(range_error("destination", dst_off, len, dst.len()));
    }
    if n == 0 {
        return Ok(());
    }
    let from = src.as_ptr();
    // SAFETY: both ranges were checked against their arrays above; JavaScript is blocked for the
    // call, so neither array is detached or resized meanwhile. `copy` is memmove: views of one
    // buffer may overlap.
    unsafe {
        let to = dst.as_mut().as_mut_ptr();
        std::ptr::copy(from.add(s), to.add(d), n);
    }
    Ok(())
}

/// The folded 16-bit one's-complement sum (RFC 1071, not complemented) of `buf[off, off + len)`,
/// an odd last byte padded with a zero on the right: what `sum16` in src/wire/checksum.ts
/// returns with no initial sum.
/// @throws when the range is out of bounds.
#[napi]
pub fn inet_sum(buf: Uint8ArraySlice, off: u32, len: u32) -> Result<u32> {
    let (o, n) = (off as usize, len as usize);
    if o + n > buf.len() {
        return Err(Error::new(Status::InvalidArg, format!("inetSum: range [{off}, {off} + {len}) is outside its array of {} bytes", buf.len())));
    }
    Ok(u32::from(ones_sum(&buf[o..o + n])))
}

/// RFC 1071 §2(B): the sum is independent of byte order, so 64-bit little-endian words are summed
/// with end-around carry and the folded result byte-swapped back to network order. Positions
/// count from the start of `b` (a zero-padded tail keeps every byte's parity).
pub fn ones_sum(b: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut carries: u64 = 0;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let (s, c) = acc.overflowing_add(u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]));
        acc = s;
        carries += u64::from(c);
    }
    let rest = words.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let (s, c) = acc.overflowing_add(u64::from_le_bytes(tail));
    acc = s;
    carries += u64::from(c);
    // Fold 64 bits (plus the carries, each worth 2^64 = 1 mod 0xffff) down to 16.
    let mut f = (acc & 0xffff_ffff) + (acc >> 32) + carries;
    while f > 0xffff {
        f = (f & 0xffff) + (f >> 16);
    }
    (f as u16).swap_bytes()
}

#[cfg(test)]
mod tests {
    use super::ones_sum;

    /// The byte-pair definition, for comparison.
    fn reference(b: &[u8]) -> u16 {
        let mut s: u64 = 0;
        for pair in b.chunks(2) {
            s += (u64::from(pair[0]) << 8) | u64::from(*pair.get(1).unwrap_or(&0));
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(ones_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
    }

    #[test]
    fn matches_the_pairwise_sum_at_every_length_and_offset() {
        let mut x: u32 = 0x1234_5678;
        let data: Vec<u8> = (0..70_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        for len in (0..300).chain([1459, 1460, 9000, 65_535, 65_536]) {
            for off in 0..9 {
                let b = &data[off..off + len];
                assert_eq!(ones_sum(b), reference(b), "len {len} off {off}");
            }
        }
        // All ones: the carries fold to 0xffff, not 0.
        assert_eq!(ones_sum(&[0xff; 65_536]), 0xffff);
    }
}
