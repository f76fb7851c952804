//! Batched AEAD over slots of one buffer: the napi-free core of the `aead` feature (../aead.rs
//! converts JavaScript arguments and calls it; the unit tests call it directly).
//!
//! A batch is `count` slots, regions of one data buffer. Slot `i` starts at `offs[i]` and holds
//! `lens[i]` bytes: on seal the plaintext, encrypted in place; on open the sealed bytes, decrypted
//! in place. The 16-byte tag goes right after the data (seal writes it at `offs[i] + lens[i]`;
//! open reads it from the last 16 of the `lens[i]` bytes), or at `tag_offs[i]` when the caller
//! keeps tags apart (OpenVPN 2.6 puts the tag in front of the ciphertext); `lens[i]` then counts
//! the data alone. Nonce `i` is `nonces[12 * i .. 12 * i + 12]`. Associated data, when there is
//! any, is a region of the data buffer itself or of a buffer of its own.
//!
//! Every argument is checked before any slot is touched ([`check_batch`]): a bad one is an
//! [`ArgError`] naming the slot and the reason, and nothing is written. A slot whose tag does not
//! verify (or that is too short to hold a tag) is a per-slot status, not an error: the rest of
//! the batch is still processed, and the failed slot's ciphertext is zeroed (ring does so, so
//! that unauthenticated plaintext never reaches the caller; the tag bytes are left as they were).
//!
//! Nothing here allocates, and nothing panics: every index is checked first.

use core::ops::Range;
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM, CHACHA20_POLY1305};

/// Key length of both algorithms (RFC 8439 §2.8: 256 bits; AES-256).
pub const KEY_LEN: usize = 32;
/// Nonce length of both algorithms (RFC 8439 §2.8, and the 96-bit IV GCM is fastest with).
pub const NONCE_LEN: usize = 12;
/// Tag length of both algorithms (RFC 8439 §2.8; GCM's full 128-bit tag).
pub const TAG_LEN: usize = 16;
/// Most slots in one batch (a bound that keeps error codes in an i32).
pub const MAX_COUNT: usize = 1 << 24;

/// Per-slot status written by [`open_batch`].
pub const STATUS_OK: u8 = 0;
/// The tag did not verify: the slot's ciphertext was zeroed.
pub const STATUS_AUTH_FAILED: u8 = 1;
/// The slot is shorter than a tag (attached tags only): left untouched.
pub const STATUS_TOO_SHORT: u8 = 2;

/// The two AEADs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RFC 8439 ChaCha20-Poly1305.
    ChaCha20Poly1305,
    /// AES-256 in Galois/Counter Mode (NIST SP 800-38D), 96-bit nonces, 128-bit tags.
    Aes256Gcm,
}

impl Algorithm {
    /// The algorithm named as in node:crypto (`chacha20-poly1305`, `aes-256-gcm`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "chacha20-poly1305" => Some(Self::ChaCha20Poly1305),
            "aes-256-gcm" => Some(Self::Aes256Gcm),
            _ => None,
        }
    }
}

/// A key with its schedule expanded once (AES round keys and GHASH table, or the ChaCha key).
/// ring keeps no per-call state in it, so one key serves any number of batches.
pub struct Key {
    key: LessSafeKey,
}

impl Key {
    /// The key for `algorithm`, or None when `key` is not [`KEY_LEN`] bytes.
    pub fn new(algorithm: Algorithm, key: &[u8]) -> Option<Self> {
        let alg = match algorithm {
            Algorithm::ChaCha20Poly1305 => &CHACHA20_POLY1305,
            Algorithm::Aes256Gcm => &AES_256_GCM,
        };
        if key.len() != KEY_LEN {
            return None;
        }
        let unbound = UnboundKey::new(alg, key).ok()?;
        Some(Self { key: LessSafeKey::new(unbound) })
    }

    /// Encrypts `data` in place and returns the tag.
    pub fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], data: &mut [u8]) -> [u8; TAG_LEN] {
        let nonce = Nonce::assume_unique_for_key(*nonce);
        match self.key.seal_in_place_separate_tag(nonce, Aad::from(aad), data) {
            Ok(tag) => {
                let mut out = [0u8; TAG_LEN];
                out.copy_from_slice(tag.as_ref());
                out
            }
            // ring refuses only inputs longer than the algorithm's limit (ChaCha20: 2^38 bytes,
            // GCM: 2^36 - 32), which a slot (an i32 length) can never reach.
            Err(_) => [0u8; TAG_LEN],
        }
    }

    /// Decrypts `data` in place if `tag` verifies and returns true; otherwise zeroes `data` and
    /// returns false.
    pub fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], data: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        let nonce = Nonce::assume_unique_for_key(*nonce);
        self.key.open_in_place_separate_tag(nonce, Aad::from(aad), Tag::from(*tag), data, 0..).is_ok()
    }
}

/// Why a batch's arguments were refused. The discriminants are part of the JavaScript contract
/// (src/native/aead.ts decodes them): never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// `offs` has fewer than `count` entries.
    OffsShort = 1,
    /// `lens` has fewer than `count` entries.
    LensShort = 2,
    /// `nonces` has fewer than `12 * count` bytes.
    NoncesShort = 3,
    /// `status` has fewer than `count` entries.
    StatusShort = 4,
    /// `aad_offs` is missing or has fewer than `count` entries.
    AadOffsShort = 5,
    /// `aad_lens` is missing or has fewer than `count` entries.
    AadLensShort = 6,
    /// `tag_offs` has fewer than `count` entries.
    TagOffsShort = 7,
    /// An array shares memory with the data buffer or the status array (checked by the caller
    /// of this module, which sees the memory; here slices are disjoint by construction).
    SharedMemory = 8,
    /// `count` is above [`MAX_COUNT`].
    CountTooLarge = 9,
    /// The slot's data (and attached tag) is not inside the buffer, or an offset or length is
    /// negative.
    SlotOutOfBounds = 10,
    /// The slot's associated data is not inside its buffer.
    AadOutOfBounds = 11,
    /// The slot's associated data overlaps its data.
    AadOverlapsData = 12,
    /// The slot's detached tag is not inside the buffer.
    TagOutOfBounds = 13,
    /// The slot's detached tag overlaps its data.
    TagOverlapsData = 14,
}

/// A refused batch: which slot (0 for reasons about the whole call) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgError {
    pub slot: usize,
    pub reason: Reason,
}

impl ArgError {
    fn call(reason: Reason) -> Self {
        Self { slot: 0, reason }
    }

    /// The negative code the napi layer returns: `-(slot * 16 + reason)`.
    pub fn code(self) -> i32 {
        // slot < MAX_COUNT = 2^24, so slot * 16 + 15 < 2^28 fits.
        -((self.slot as i32) * 16 + self.reason as i32)
    }
}

/// Where each slot's associated data is.
pub enum AadSlots<'a> {
    /// None (empty associated data for every slot).
    None,
    /// In the data buffer: the caller's AAD buffer is the `len` bytes at `base` in it (both may
    /// be views of one SharedArrayBuffer, or the same array), and slot i's AAD is at `offs[i]`
    /// in that AAD buffer, `lens[i]` bytes.
    InData { base: usize, len: usize, offs: &'a [i32], lens: &'a [i32] },
    /// In a buffer of its own, at `offs[i]`, `lens[i]` bytes.
    Separate { buf: &'a [u8], offs: &'a [i32], lens: &'a [i32] },
}

/// The per-slot arrays of a batch (everything but the data buffer and the status array).
pub struct Batch<'a> {
    pub offs: &'a [i32],
    pub lens: &'a [i32],
    pub count: usize,
    pub nonces: &'a [u8],
    pub aad: AadSlots<'a>,
    pub tag_offs: Option<&'a [i32]>,
}

/// Seal or open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Seal,
    Open,
}

/// One slot's regions, all checked in bounds, data disjoint from tag and from in-buffer AAD.
struct Regions {
    data: Range<usize>,
    tag: usize,
    /// In the data buffer or the AAD buffer, as `Batch::aad` says.
    aad: Range<usize>,
}

enum Plan {
    Work(Regions),
    TooShort,
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// `[off, off + len)` when both are non-negative and it ends within `limit`.
fn region(off: i32, len: i32, limit: usize) -> Option<Range<usize>> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    (end <= limit).then_some(start..end)
}

impl Batch<'_> {
    /// The whole-call checks: array lengths and count.
    fn check_call(&self, status_len: Option<usize>) -> Result<(), ArgError> {
        let n = self.count;
        if n > MAX_COUNT {
            return Err(ArgError::call(Reason::CountTooLarge));
        }
        if self.offs.len() < n {
            return Err(ArgError::call(Reason::OffsShort));
        }
        if self.lens.len() < n {
            return Err(ArgError::call(Reason::LensShort));
        }
        if self.nonces.len() < n * NONCE_LEN {
            return Err(ArgError::call(Reason::NoncesShort));
        }
        if status_len.is_some_and(|l| l < n) {
            return Err(ArgError::call(Reason::StatusShort));
        }
        match self.aad {
            AadSlots::None => {}
            AadSlots::InData { offs, lens, .. } | AadSlots::Separate { offs, lens, .. } => {
                if offs.len() < n {
                    return Err(ArgError::call(Reason::AadOffsShort));
                }
                if lens.len() < n {
                    return Err(ArgError::call(Reason::AadLensShort));
                }
            }
        }
        if self.tag_offs.is_some_and(|t| t.len() < n) {
            return Err(ArgError::call(Reason::TagOffsShort));
        }
        Ok(())
    }

    /// Slot `i`'s regions in a data buffer of `buf_len` bytes (`i < count`, after check_call).
    fn plan(&self, i: usize, dir: Direction, buf_len: usize) -> Result<Plan, Reason> {
        let (off, len) = (self.offs[i], self.lens[i]);
        let (data, tag) = match self.tag_offs {
            Some(tag_offs) => {
                let data = region(off, len, buf_len).ok_or(Reason::SlotOutOfBounds)?;
                let tag = region(tag_offs[i], TAG_LEN as i32, buf_len).ok_or(Reason::TagOutOfBounds)?;
                if overlaps(&tag, &data) {
                    return Err(Reason::TagOverlapsData);
                }
                (data, tag.start)
            }
            None => match dir {
                Direction::Seal => {
                    let data = region(off, len, buf_len).ok_or(Reason::SlotOutOfBounds)?;
                    if data.end + TAG_LEN > buf_len {
                        return Err(Reason::SlotOutOfBounds);
                    }
                    let tag = data.end;
                    (data, tag)
                }
                Direction::Open => {
                    let all = region(off, len, buf_len).ok_or(Reason::SlotOutOfBounds)?;
                    if all.len() < TAG_LEN {
                        return Ok(Plan::TooShort);
                    }
                    let tag = all.end - TAG_LEN;
                    (all.start..tag, tag)
                }
            },
        };
        let aad = match self.aad {
            AadSlots::None => 0..0,
            AadSlots::InData { base, len, offs, lens } => {
                let r = region(offs[i], lens[i], len).ok_or(Reason::AadOutOfBounds)?;
                let r = r.start + base..r.end + base;
                if r.end > buf_len {
                    return Err(Reason::AadOutOfBounds);
                }
                if overlaps(&r, &data) {
                    return Err(Reason::AadOverlapsData);
                }
                r
            }
            AadSlots::Separate { buf, offs, lens } => region(offs[i], lens[i], buf.len()).ok_or(Reason::AadOutOfBounds)?,
        };
        Ok(Plan::Work(Regions { data, tag, aad }))
    }

    fn nonce(&self, i: usize) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        if let Some(src) = self.nonces.get(i * NONCE_LEN..(i + 1) * NONCE_LEN) {
            n.copy_from_slice(src);
        }
        n
    }
}

/// Checks every argument of a batch over a data buffer of `buf_len` bytes, before any work.
/// `status_len`: the status array's length (open), or None (seal).
pub fn check_batch(batch: &Batch, dir: Direction, buf_len: usize, status_len: Option<usize>) -> Result<(), ArgError> {
    batch.check_call(status_len)?;
    for i in 0..batch.count {
        batch.plan(i, dir, buf_len).map_err(|reason| ArgError { slot: i, reason })?;
    }
    Ok(())
}

/// The slot's associated data (a shared borrow) and data (a mutable one), split from `buf` when
/// the AAD lives there. None only if the regions were not checked (cannot happen after `plan`).
fn split<'b, 'a: 'b>(buf: &'b mut [u8], aad: &AadSlots<'a>, r: &Regions) -> Option<(&'b [u8], &'b mut [u8])> {
    match aad {
        AadSlots::None => Some((&[], buf.get_mut(r.data.clone())?)),
        AadSlots::Separate { buf: aad_buf, .. } => Some((aad_buf.get(r.aad.clone())?, buf.get_mut(r.data.clone())?)),
        AadSlots::InData { .. } => {
            if r.aad.is_empty() {
                return Some((&[], buf.get_mut(r.data.clone())?));
            }
            if r.aad.end <= r.data.start {
                let (lo, hi) = buf.split_at_mut(r.data.start);
                Some((lo.get(r.aad.clone())?, hi.get_mut(..r.data.len())?))
            } else {
                let (lo, hi) = buf.split_at_mut(r.data.end);
                let aad = hi.get(r.aad.start.checked_sub(r.data.end)?..r.aad.end.checked_sub(r.data.end)?)?;
                Some((aad, lo.get_mut(r.data.start..)?))
            }
        }
    }
}

/// Seals every slot of `batch` in `buf`, after checking them all.
pub fn seal_batch(key: &Key, buf: &mut [u8], batch: &Batch) -> Result<(), ArgError> {
    check_batch(batch, Direction::Seal, buf.len(), None)?;
    for i in 0..batch.count {
        // Checked above; only a racing writer to the caller's arrays could make this fail.
        let Ok(Plan::Work(r)) = batch.plan(i, Direction::Seal, buf.len()) else { continue };
        let nonce = batch.nonce(i);
        let Some((aad, data)) = split(buf, &batch.aad, &r) else { continue };
        let tag = key.seal(&nonce, aad, data);
        if let Some(dst) = buf.get_mut(r.tag..r.tag + TAG_LEN) {
            dst.copy_from_slice(&tag);
        }
    }
    Ok(())
}

/// Opens every slot of `batch` in `buf`, after checking them all; writes each slot's status
/// (`STATUS_*`) and returns how many failed.
pub fn open_batch(key: &Key, buf: &mut [u8], batch: &Batch, status: &mut [u8]) -> Result<usize, ArgError> {
    check_batch(batch, Direction::Open, buf.len(), Some(status.len()))?;
    let mut failed = 0;
    for (i, st) in status.iter_mut().enumerate().take(batch.count) {
        let r = match batch.plan(i, Direction::Open, buf.len()) {
            Ok(Plan::Work(r)) => r,
            Ok(Plan::TooShort) | Err(_) => {
                *st = STATUS_TOO_SHORT;
                failed += 1;
                continue;
            }
        };
        let nonce = batch.nonce(i);
        let mut tag = [0u8; TAG_LEN];
        match buf.get(r.tag..r.tag + TAG_LEN) {
            Some(t) => tag.copy_from_slice(t),
            None => {
                *st = STATUS_TOO_SHORT;
                failed += 1;
                continue;
            }
        }
        let ok = match split(buf, &batch.aad, &r) {
            Some((aad, data)) => key.open(&nonce, aad, data, &tag),
            None => false,
        };
        if ok {
            *st = STATUS_OK;
        } else {
            *st = STATUS_AUTH_FAILED;
            failed += 1;
        }
    }
    Ok(failed)
}
