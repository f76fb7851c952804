//! Batched AEAD (the `aead` feature): ChaCha20-Poly1305 (RFC 8439) and AES-256-GCM sealed and
//! opened in place over many slots of one buffer per call, with ring (BoringSSL's assembly,
//! chosen by CPU at run time) doing the cryptography. src/native/aead.ts is the JavaScript API.
//!
//! Why ring: on the project machine (Zen 5, AVX-512, VAES), a 1420-byte seal took 733 ns with
//! ring's ChaCha20-Poly1305 and 262 ns with its AES-256-GCM, against 2511 ns and 1055 ns with
//! RustCrypto's chacha20poly1305 0.10 / aes-gcm 0.10 (release, LTO, best of 5 x 200k); at 64
//! bytes 171 and 81 ns against 1548 and 115 ns. `openssl speed -evp` did the same ChaCha20
//! packet in about 670 ns, so ring is within 10% of the per-core limit.
//!
//! The JavaScript side holds a key handle ([`aead_key`]) per key (the schedule is expanded
//! once) and calls `aeadSealBatch`/`aeadOpenBatch` with the data buffer (usually a view of a
//! SharedArrayBuffer ring or pool), per-slot offsets, lengths and nonces, optional associated
//! data and tag offsets. Bad arguments come back as a negative code (`-(slot * 16 + reason)`, see
//! [`batch::Reason`]) that aead.ts turns into a typed error: this layer never throws for them and
//! never touches memory outside the arrays it was given.

mod batch;
#[cfg(test)]
mod tests;

use batch::{AadSlots, ArgError, Batch, Key, Reason};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// napi's prelude shadows `Result`: results of the napi-free core are these.
type ArgResult<T> = core::result::Result<T, ArgError>;

/// The byte range `[start, end)` an array occupies in memory.
fn span<T>(s: &[T]) -> (usize, usize) {
    let start = s.as_ptr() as usize;
    (start, start + core::mem::size_of_val(s))
}

fn spans_overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The typed arrays of one batch call, before their memory has been checked.
struct Args<'a, 'env> {
    buf: &'a mut Uint8ArraySlice<'env>,
    offs: &'a [i32],
    lens: &'a [i32],
    count: u32,
    nonces: &'a [u8],
    aad: Option<&'a [u8]>,
    aad_offs: Option<&'a [i32]>,
    aad_lens: Option<&'a [i32]>,
    tag_offs: Option<&'a [i32]>,
}

impl Args<'_, '_> {
    /// Checks that no array shares memory with the data buffer or `status` (either is written),
    /// places the AAD (inside the data buffer, or apart), and runs `f` on the checked batch.
    fn run<R>(self, status: Option<(usize, usize)>, f: impl FnOnce(&mut [u8], &Batch) -> ArgResult<R>) -> ArgResult<R> {
        let shared = ArgError { slot: 0, reason: Reason::SharedMemory };
        let buf_span = span(self.buf.as_ref());
        let mut meta = [span(self.offs), span(self.lens), span(self.nonces), (0, 0), (0, 0), (0, 0)];
        if let Some(a) = self.aad_offs {
            meta[3] = span(a);
        }
        if let Some(a) = self.aad_lens {
            meta[4] = span(a);
        }
        if let Some(t) = self.tag_offs {
            meta[5] = span(t);
        }
        if meta.iter().any(|&m| spans_overlap(m, buf_span)) {
            return Err(shared);
        }
        if let Some(st) = status {
            if spans_overlap(st, buf_span) || meta.iter().any(|&m| spans_overlap(m, st)) {
                return Err(shared);
            }
        }
        let count = self.count as usize;
        let aad = match self.aad {
            None => AadSlots::None,
            Some(aad_buf) => {
                let offs = self.aad_offs.ok_or(ArgError { slot: 0, reason: Reason::AadOffsShort })?;
                let lens = self.aad_lens.ok_or(ArgError { slot: 0, reason: Reason::AadLensShort })?;
                let aad_span = span(aad_buf);
                if status.is_some_and(|st| spans_overlap(st, aad_span)) {
                    return Err(shared);
                }
                if aad_span.0 >= buf_span.0 && aad_span.1 <= buf_span.1 && aad_span.1 > aad_span.0 {
                    // A view inside the data buffer (one SharedArrayBuffer, or the same array):
                    // addressed through the data buffer so that no two borrows alias.
                    AadSlots::InData { base: aad_span.0 - buf_span.0, len: aad_buf.len(), offs, lens }
                } else if spans_overlap(aad_span, buf_span) {
                    return Err(shared);
                } else {
                    AadSlots::Separate { buf: aad_buf, offs, lens }
                }
            }
        };
        let batch = Batch { offs: self.offs, lens: self.lens, count, nonces: self.nonces, aad, tag_offs: self.tag_offs };
        // SAFETY: the data buffer's memory is shared with no other array of this call (checked
        // above; an AAD view inside it is addressed through this one slice), and no JavaScript
        // runs during this synchronous call. A SharedArrayBuffer may be written by other threads
        // meanwhile: the ring or pool protocol gives this thread the slots for the call's
        // duration, and whatever another thread did, every access is bounds-checked first.
        let buf = unsafe { self.buf.as_mut() };
        f(buf, &batch)
    }
}

fn result_code(r: ArgResult<usize>) -> i32 {
    match r {
        Ok(n) => n as i32,
        Err(e) => e.code(),
    }
}

/// A key for `algorithm` (`chacha20-poly1305` or `aes-256-gcm`) from its 32 bytes, its
/// schedule expanded once: an opaque handle for `aeadSealBatch`/`aeadOpenBatch`. (A handle
/// rather than a class: unwrapping a class instance costs about 200 ns per call here, an
/// external about 15 ns.)
#[napi(ts_return_type = "ExternalObject<'AeadKey'>")]
pub fn aead_key(algorithm: String, key: Uint8ArraySlice) -> Result<External<Key>> {
    let alg = batch::Algorithm::from_name(&algorithm)
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("unknown AEAD algorithm {algorithm:?}")))?;
    let key = Key::new(alg, &key)
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("an AEAD key is {} bytes, got {}", batch::KEY_LEN, key.len())))?;
    Ok(External::new(key))
}

/// Seals slots `0..count` of `buf` in place: slot i's `lens[i]` bytes at `offs[i]` are
/// encrypted with nonce `nonces[12i..12i+12]` and the associated data at
/// `aad[aadOffs[i]..+aadLens[i]]` (when `aad` is given), and the 16-byte tag is written at
/// `offs[i] + lens[i]`, or at `tagOffs[i]` when `tagOffs` is given. Returns 0, or
/// `-(slot * 16 + reason)` for a bad argument (then nothing was written).
#[napi]
#[allow(clippy::too_many_arguments)] // one typed array per per-slot field, no object per call
pub fn aead_seal_batch(
    #[napi(ts_arg_type = "ExternalObject<'AeadKey'>")] key: &External<Key>,
    mut buf: Uint8ArraySlice,
    offs: Int32ArraySlice,
    lens: Int32ArraySlice,
    count: u32,
    nonces: Uint8ArraySlice,
    aad: Option<Uint8ArraySlice>,
    aad_offs: Option<Int32ArraySlice>,
    aad_lens: Option<Int32ArraySlice>,
    tag_offs: Option<Int32ArraySlice>,
) -> i32 {
    let args = Args {
        buf: &mut buf,
        offs: &offs,
        lens: &lens,
        count,
        nonces: &nonces,
        aad: aad.as_deref(),
        aad_offs: aad_offs.as_deref(),
        aad_lens: aad_lens.as_deref(),
        tag_offs: tag_offs.as_deref(),
    };
    result_code(args.run(None, |buf, b| batch::seal_batch(key, buf, b).map(|()| 0)))
}

/// Opens slots `0..count` of `buf` in place: slot i's `lens[i]` bytes at `offs[i]` are the
/// ciphertext followed by its tag (or the ciphertext alone, its tag at `tagOffs[i]`). Writes
/// `status[i]`: 0 opened (the plaintext is the first `lens[i] - 16` bytes, or `lens[i]` with
/// `tagOffs`), 1 the tag did not verify (the ciphertext was zeroed), 2 shorter than a tag.
/// Returns how many slots failed, or `-(slot * 16 + reason)` for a bad argument.
#[napi]
#[allow(clippy::too_many_arguments)] // one typed array per per-slot field, no object per call
pub fn aead_open_batch(
    #[napi(ts_arg_type = "ExternalObject<'AeadKey'>")] key: &External<Key>,
    mut buf: Uint8ArraySlice,
    offs: Int32ArraySlice,
    lens: Int32ArraySlice,
    count: u32,
    nonces: Uint8ArraySlice,
    mut status: Uint8ArraySlice,
    aad: Option<Uint8ArraySlice>,
    aad_offs: Option<Int32ArraySlice>,
    aad_lens: Option<Int32ArraySlice>,
    tag_offs: Option<Int32ArraySlice>,
) -> i32 {
    let status_span = span(status.as_ref());
    let args = Args {
        buf: &mut buf,
        offs: &offs,
        lens: &lens,
        count,
        nonces: &nonces,
        aad: aad.as_deref(),
        aad_offs: aad_offs.as_deref(),
        aad_lens: aad_lens.as_deref(),
        tag_offs: tag_offs.as_deref(),
    };
    result_code(args.run(Some(status_span), |buf, b| {
        // SAFETY: `status` shares memory with no other array of this call (checked by `run`
        // before this closure runs), and no JavaScript runs during the call.
        let status = unsafe { status.as_mut() };
        batch::open_batch(key, buf, b, status)
    }))
}
