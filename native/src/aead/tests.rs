//! Unit tests of the napi-free AEAD core (batch.rs): published vectors, then the batch contract.
//!
//! Vectors (also in test/native/aead.test.ts, listed in test/vectors/SOURCES.md; each was checked
//! against node:crypto, i.e. OpenSSL, before it was written here):
//! - RFC 8439 §2.8.2, "Example and Test Vector for AEAD_CHACHA20_POLY1305" (seal);
//! - RFC 8439 Appendix A.5, "ChaCha20-Poly1305 AEAD Decryption" (open);
//! - McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13 to 16 (the
//!   AES-256 cases: empty, one zero block, 64 bytes, 60 bytes with 20 bytes of AAD).

use super::batch::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn nonce(b: &[u8]) -> [u8; NONCE_LEN] {
    b.try_into().unwrap()
}

fn tag(b: &[u8]) -> [u8; TAG_LEN] {
    b.try_into().unwrap()
}

struct Vector {
    alg: Algorithm,
    key: Vec<u8>,
    nonce: Vec<u8>,
    aad: Vec<u8>,
    pt: Vec<u8>,
    ct: Vec<u8>,
    tag: Vec<u8>,
}

fn rfc8439_2_8_2() -> Vector {
    Vector {
        alg: Algorithm::ChaCha20Poly1305,
        key: hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
        nonce: hex("07000000 4041424344454647"),
        aad: hex("50515253c0c1c2c3c4c5c6c7"),
        pt: b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec(),
        ct: hex(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
             1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
             3ff4def08e4b7a9de576d26586cec64b6116",
        ),
        tag: hex("1ae10b594f09e26a7e902ecbd0600691"),
    }
}

fn rfc8439_a_5() -> Vector {
    Vector {
        alg: Algorithm::ChaCha20Poly1305,
        key: hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"),
        nonce: hex("000000000102030405060708"),
        aad: hex("f33388860000000000004e91"),
        pt: "Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference material or to cite them other than as /\u{201c}work in progress./\u{201d}"
            .as_bytes()
            .to_vec(),
        ct: hex(
            "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0
             bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
             9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e9
             9040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
             0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130
             305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b",
        ),
        tag: hex("eead9d67890cbb22392336fea1851f38"),
    }
}

fn gcm_cases() -> Vec<Vector> {
    let k = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    let iv = hex("cafebabefacedbaddecaf888");
    let p = hex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
    );
    let c = hex(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
         8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
    );
    vec![
        // Test case 13: K = 0^256, P empty, IV = 0^96.
        Vector { alg: Algorithm::Aes256Gcm, key: vec![0; 32], nonce: vec![0; 12], aad: vec![], pt: vec![], ct: vec![], tag: hex("530f8afbc74536b9a963b4f1c4cb738b") },
        // Test case 14: P = 0^128.
        Vector {
            alg: Algorithm::Aes256Gcm,
            key: vec![0; 32],
            nonce: vec![0; 12],
            aad: vec![],
            pt: vec![0; 16],
            ct: hex("cea7403d4d606b6e074ec5d3baf39d18"),
            tag: hex("d0d1c8a799996bf0265b98b5d48ab919"),
        },
        // Test case 15.
        Vector { alg: Algorithm::Aes256Gcm, key: k.clone(), nonce: iv.clone(), aad: vec![], pt: p.clone(), ct: c.clone(), tag: hex("b094dac5d93471bdec1a502270e3cc6c") },
        // Test case 16: 60 bytes, 20 bytes of AAD.
        Vector {
            alg: Algorithm::Aes256Gcm,
            key: k,
            nonce: iv,
            aad: hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
            pt: p[..60].to_vec(),
            ct: c[..60].to_vec(),
            tag: hex("76fc6ece0f4e1768cddf8853bb2d551b"),
        },
    ]
}

fn all_vectors() -> Vec<Vector> {
    let mut v = vec![rfc8439_2_8_2(), rfc8439_a_5()];
    v.extend(gcm_cases());
    v
}

#[test]
fn vectors_seal_and_open_one_packet() {
    for (i, v) in all_vectors().iter().enumerate() {
        let key = Key::new(v.alg, &v.key).unwrap();
        let mut data = v.pt.clone();
        let t = key.seal(&nonce(&v.nonce), &v.aad, &mut data);
        assert_eq!(data, v.ct, "vector {i}: ciphertext");
        assert_eq!(t.to_vec(), v.tag, "vector {i}: tag");
        assert!(key.open(&nonce(&v.nonce), &v.aad, &mut data, &tag(&v.tag)), "vector {i}: open");
        assert_eq!(data, v.pt, "vector {i}: plaintext");
    }
}

/// Places each vector in its own slot of one buffer pre-filled with 0xa5, at odd offsets, with
/// its AAD in a second buffer; seals the batch and checks every byte of the buffer.
#[test]
fn vectors_as_one_batch_at_offsets() {
    let vs = all_vectors();
    // One key per algorithm: the batch takes one key, so run the ChaCha and GCM groups apart.
    for alg in [Algorithm::ChaCha20Poly1305, Algorithm::Aes256Gcm] {
        let group: Vec<&Vector> = vs.iter().filter(|v| v.alg == alg).collect();
        let mut by_key: Vec<Vec<&Vector>> = Vec::new();
        for v in group {
            match by_key.iter_mut().find(|g| g[0].key == v.key) {
                Some(g) => g.push(v),
                None => by_key.push(vec![v]),
            }
        }
        for g in by_key {
            let key = Key::new(alg, &g[0].key).unwrap();
            let (mut offs, mut lens, mut nonces, mut aad, mut aad_offs, mut aad_lens) = (vec![], vec![], vec![], vec![0xa5u8; 3], vec![], vec![]);
            let mut buf = vec![0xa5u8; 7];
            for v in &g {
                offs.push(buf.len() as i32);
                lens.push(v.pt.len() as i32);
                buf.extend_from_slice(&v.pt);
                buf.extend_from_slice(&[0xa5; TAG_LEN + 5]);
                nonces.extend_from_slice(&v.nonce);
                aad_offs.push(aad.len() as i32);
                aad_lens.push(v.aad.len() as i32);
                aad.extend_from_slice(&v.aad);
            }
            let before = buf.clone();
            let batch = Batch {
                offs: &offs,
                lens: &lens,
                count: g.len(),
                nonces: &nonces,
                aad: AadSlots::Separate { buf: &aad, offs: &aad_offs, lens: &aad_lens },
                tag_offs: None,
            };
            seal_batch(&key, &mut buf, &batch).unwrap();
            let mut want = before.clone();
            for (i, v) in g.iter().enumerate() {
                let o = offs[i] as usize;
                want[o..o + v.ct.len()].copy_from_slice(&v.ct);
                want[o + v.ct.len()..o + v.ct.len() + TAG_LEN].copy_from_slice(&v.tag);
            }
            assert_eq!(buf, want, "sealed batch ({alg:?})");
            // Open: the slot now holds ciphertext and tag.
            let sealed_lens: Vec<i32> = lens.iter().map(|l| l + TAG_LEN as i32).collect();
            let batch = Batch { lens: &sealed_lens, ..batch };
            let mut status = vec![0xa5u8; g.len()];
            assert_eq!(open_batch(&key, &mut buf, &batch, &mut status), Ok(0));
            assert!(status.iter().all(|&s| s == STATUS_OK));
            let mut want = before;
            for (i, v) in g.iter().enumerate() {
                let o = offs[i] as usize;
                want[o + v.ct.len()..o + v.ct.len() + TAG_LEN].copy_from_slice(&v.tag);
            }
            assert_eq!(buf, want, "opened batch ({alg:?}): plaintext back, tag left in place");
        }
    }
}

/// A small deterministic generator for the property tests (no dependency for it).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            *x = self.next() as u8;
        }
    }
}

/// Builds a batch of `n` random packets in a buffer: returns (buf, offs, lens, nonces).
fn random_batch(rng: &mut Lcg, n: usize, max_len: u32) -> (Vec<u8>, Vec<i32>, Vec<i32>, Vec<u8>) {
    let (mut buf, mut offs, mut lens) = (vec![], vec![], vec![]);
    for _ in 0..n {
        buf.resize(buf.len() + (rng.next() % 8) as usize, 0xa5);
        let len = rng.next() % (max_len + 1);
        offs.push(buf.len() as i32);
        lens.push(len as i32);
        let start = buf.len();
        buf.resize(start + len as usize + TAG_LEN, 0xa5);
        rng.fill(&mut buf[start..start + len as usize]);
    }
    let mut nonces = vec![0u8; n * NONCE_LEN];
    rng.fill(&mut nonces);
    (buf, offs, lens, nonces)
}

#[test]
fn batch_round_trip_and_matches_one_by_one() {
    let mut rng = Lcg(1);
    for alg in [Algorithm::ChaCha20Poly1305, Algorithm::Aes256Gcm] {
        for _ in 0..20 {
            let mut k = [0u8; 32];
            rng.fill(&mut k);
            let key = Key::new(alg, &k).unwrap();
            let n = (rng.next() % 70) as usize;
            let (mut buf, offs, lens, nonces) = random_batch(&mut rng, n, 2000);
            let plain = buf.clone();
            let batch = Batch { offs: &offs, lens: &lens, count: n, nonces: &nonces, aad: AadSlots::None, tag_offs: None };
            seal_batch(&key, &mut buf, &batch).unwrap();
            for i in 0..n {
                let (o, l) = (offs[i] as usize, lens[i] as usize);
                let mut one = plain[o..o + l].to_vec();
                let t = key.seal(&nonce(&nonces[i * 12..i * 12 + 12]), &[], &mut one);
                assert_eq!(&buf[o..o + l], &one[..]);
                assert_eq!(&buf[o + l..o + l + TAG_LEN], &t[..]);
            }
            let sealed: Vec<i32> = lens.iter().map(|l| l + 16).collect();
            let mut status = vec![9u8; n];
            let b = Batch { lens: &sealed, ..batch };
            assert_eq!(open_batch(&key, &mut buf, &b, &mut status), Ok(0));
            for i in 0..n {
                let (o, l) = (offs[i] as usize, lens[i] as usize);
                assert_eq!(&buf[o..o + l], &plain[o..o + l]);
            }
        }
    }
}

#[test]
fn a_tampered_slot_is_flagged_and_zeroed_and_the_others_open() {
    let mut rng = Lcg(7);
    let key = Key::new(Algorithm::ChaCha20Poly1305, &[3u8; 32]).unwrap();
    let n = 9;
    let (mut buf, offs, mut lens, nonces) = random_batch(&mut rng, n, 300);
    lens[4] = 100; // keep the tampered slot non-empty
    let plain = buf.clone();
    let batch = Batch { offs: &offs, lens: &lens, count: n, nonces: &nonces, aad: AadSlots::None, tag_offs: None };
    seal_batch(&key, &mut buf, &batch).unwrap();
    let o4 = offs[4] as usize;
    buf[o4 + 10] ^= 1; // one ciphertext bit of slot 4
    let sealed: Vec<i32> = lens.iter().map(|l| l + 16).collect();
    let mut status = vec![9u8; n];
    let mut tag4 = [0u8; 16];
    tag4.copy_from_slice(&buf[o4 + 100..o4 + 116]);
    assert_eq!(open_batch(&key, &mut buf, &Batch { lens: &sealed, ..batch }, &mut status), Ok(1));
    for i in 0..n {
        let (o, l) = (offs[i] as usize, lens[i] as usize);
        if i == 4 {
            assert_eq!(status[i], STATUS_AUTH_FAILED);
            assert!(buf[o..o + l].iter().all(|&b| b == 0), "failed slot's ciphertext zeroed");
            assert_eq!(&buf[o + l..o + l + 16], &tag4[..], "failed slot's tag left as it was");
        } else {
            assert_eq!(status[i], STATUS_OK, "slot {i}");
            assert_eq!(&buf[o..o + l], &plain[o..o + l], "slot {i}");
        }
    }
    // A wrong tag, a wrong nonce and wrong AAD fail too.
    let key2 = Key::new(Algorithm::Aes256Gcm, &[4u8; 32]).unwrap();
    let mut d = b"attack at dawn".to_vec();
    let t = key2.seal(&[1; 12], b"hdr", &mut d);
    let ct = d.clone();
    let mut bad = t;
    bad[15] ^= 0x80;
    assert!(!key2.open(&[1; 12], b"hdr", &mut d, &bad));
    d.copy_from_slice(&ct);
    assert!(!key2.open(&[2; 12], b"hdr", &mut d, &t));
    d.copy_from_slice(&ct);
    assert!(!key2.open(&[1; 12], b"hdR", &mut d, &t));
    d.copy_from_slice(&ct);
    assert!(key2.open(&[1; 12], b"hdr", &mut d, &t));
    assert_eq!(d, b"attack at dawn");
}

#[test]
fn slots_shorter_than_a_tag_are_a_status_not_an_error() {
    let key = Key::new(Algorithm::Aes256Gcm, &[5u8; 32]).unwrap();
    let mut buf = vec![0xa5u8; 64];
    let (offs, lens, nonces) = ([0, 20, 40], [15, 0, 16], [0u8; 36]);
    let mut status = [9u8; 3];
    let batch = Batch { offs: &offs, lens: &lens, count: 3, nonces: &nonces, aad: AadSlots::None, tag_offs: None };
    assert_eq!(open_batch(&key, &mut buf, &batch, &mut status), Ok(3));
    assert_eq!(status, [STATUS_TOO_SHORT, STATUS_TOO_SHORT, STATUS_AUTH_FAILED]);
    assert!(buf[..40].iter().all(|&b| b == 0xa5), "too-short slots untouched");
}

/// OpenVPN 2.6 P_DATA_V2 layout (docs: ../../../../shared/notes/openvpn-protocol.md §4.2):
/// [header 4][packet id 4][tag 16][ciphertext], AAD = the first 8 bytes, tag before the data.
#[test]
fn detached_tags_and_aad_inside_the_data_buffer() {
    let key = Key::new(Algorithm::Aes256Gcm, &[6u8; 32]).unwrap();
    let payload = b"an inner IPv4 packet, say".to_vec();
    let mut buf = vec![0u8; 24 + payload.len()];
    buf[..8].copy_from_slice(&hex("48000005 00000001"));
    buf[24..].copy_from_slice(&payload);
    let iv = hex("00000001 0102030405060708");
    let (offs, lens, tag_offs, aad_offs, aad_lens) = ([24], [payload.len() as i32], [8], [0], [8]);
    let batch = Batch {
        offs: &offs,
        lens: &lens,
        count: 1,
        nonces: &iv,
        aad: AadSlots::InData { base: 0, len: buf.len(), offs: &aad_offs, lens: &aad_lens },
        tag_offs: Some(&tag_offs),
    };
    seal_batch(&key, &mut buf, &batch).unwrap();
    // The same packet sealed one-shot.
    let mut one = payload.clone();
    let t = key.seal(&nonce(&iv), &buf[..8], &mut one);
    assert_eq!(&buf[8..24], &t[..]);
    assert_eq!(&buf[24..], &one[..]);
    let mut status = [9u8];
    assert_eq!(open_batch(&key, &mut buf, &batch, &mut status), Ok(0));
    assert_eq!(&buf[24..], &payload[..]);
    // The header is authenticated: change it and the packet fails.
    seal_batch(&key, &mut buf, &batch).unwrap();
    buf[3] = 6;
    assert_eq!(open_batch(&key, &mut buf, &batch, &mut status), Ok(1));
    assert_eq!(status[0], STATUS_AUTH_FAILED);
}

#[test]
fn bad_arguments_are_refused_before_any_work() {
    let key = Key::new(Algorithm::ChaCha20Poly1305, &[1u8; 32]).unwrap();
    let nonces = [0u8; 12 * 4];
    let aad = [0u8; 8];
    let cases: Vec<(&str, Batch, Option<usize>, Direction, ArgError)> = vec![
        ("offs short", Batch { offs: &[0, 40], lens: &[1, 1, 1], count: 3, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::OffsShort }),
        ("lens short", Batch { offs: &[0, 40, 80], lens: &[1], count: 3, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::LensShort }),
        ("nonces short", Batch { offs: &[0; 5], lens: &[1; 5], count: 5, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::NoncesShort }),
        ("status short", Batch { offs: &[0, 40], lens: &[17, 17], count: 2, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, Some(1), Direction::Open, ArgError { slot: 0, reason: Reason::StatusShort }),
        ("count too large", Batch { offs: &[], lens: &[], count: MAX_COUNT + 1, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::CountTooLarge }),
        ("aad offs short", Batch { offs: &[0], lens: &[1], count: 1, nonces: &nonces, aad: AadSlots::Separate { buf: &aad, offs: &[], lens: &[1] }, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::AadOffsShort }),
        ("aad lens short", Batch { offs: &[0], lens: &[1], count: 1, nonces: &nonces, aad: AadSlots::Separate { buf: &aad, offs: &[0], lens: &[] }, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::AadLensShort }),
        ("tag offs short", Batch { offs: &[0], lens: &[1], count: 1, nonces: &nonces, aad: AadSlots::None, tag_offs: Some(&[]) }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::TagOffsShort }),
        // The buffer is 100 bytes.
        ("negative offset", Batch { offs: &[0, -1], lens: &[1, 1], count: 2, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 1, reason: Reason::SlotOutOfBounds }),
        ("negative length", Batch { offs: &[0, 0, 0], lens: &[1, 1, -1], count: 3, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 2, reason: Reason::SlotOutOfBounds }),
        ("tag past the end (seal)", Batch { offs: &[0, 80], lens: &[1, 5], count: 2, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 1, reason: Reason::SlotOutOfBounds }),
        ("past the end (open)", Batch { offs: &[0, 80], lens: &[17, 21], count: 2, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, Some(2), Direction::Open, ArgError { slot: 1, reason: Reason::SlotOutOfBounds }),
        ("huge length", Batch { offs: &[i32::MAX], lens: &[i32::MAX], count: 1, nonces: &nonces, aad: AadSlots::None, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::SlotOutOfBounds }),
        ("aad out of its buffer", Batch { offs: &[0, 20], lens: &[1, 1], count: 2, nonces: &nonces, aad: AadSlots::Separate { buf: &aad, offs: &[0, 4], lens: &[8, 5] }, tag_offs: None }, None, Direction::Seal, ArgError { slot: 1, reason: Reason::AadOutOfBounds }),
        ("aad over its view (in data)", Batch { offs: &[50], lens: &[1], count: 1, nonces: &nonces, aad: AadSlots::InData { base: 10, len: 8, offs: &[4], lens: &[5] }, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::AadOutOfBounds }),
        ("aad overlaps data", Batch { offs: &[20], lens: &[10], count: 1, nonces: &nonces, aad: AadSlots::InData { base: 0, len: 100, offs: &[29], lens: &[2] }, tag_offs: None }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::AadOverlapsData }),
        ("detached tag out", Batch { offs: &[0], lens: &[10], count: 1, nonces: &nonces, aad: AadSlots::None, tag_offs: Some(&[90]) }, None, Direction::Seal, ArgError { slot: 0, reason: Reason::TagOutOfBounds }),
        ("detached tag overlaps data", Batch { offs: &[20], lens: &[10], count: 1, nonces: &nonces, aad: AadSlots::None, tag_offs: Some(&[5]) }, Some(1), Direction::Open, ArgError { slot: 0, reason: Reason::TagOverlapsData }),
    ];
    for (name, batch, status_len, dir, want) in cases {
        let mut buf = vec![0xa5u8; 100];
        let mut status = vec![9u8; status_len.unwrap_or(0)];
        let got = match dir {
            Direction::Seal => seal_batch(&key, &mut buf, &batch).map(|()| 0),
            Direction::Open => open_batch(&key, &mut buf, &batch, &mut status),
        };
        assert_eq!(got, Err(want), "{name}");
        assert!(buf.iter().all(|&b| b == 0xa5), "{name}: nothing written to the buffer");
        assert!(status.iter().all(|&b| b == 9), "{name}: nothing written to the status");
        assert!(want.code() < 0);
    }
    assert_eq!(ArgError { slot: 3, reason: Reason::SlotOutOfBounds }.code(), -(3 * 16 + 10));
}

#[test]
fn keys_of_the_wrong_length_are_refused() {
    for len in [0, 16, 31, 33, 64] {
        assert!(Key::new(Algorithm::ChaCha20Poly1305, &vec![0; len]).is_none());
        assert!(Key::new(Algorithm::Aes256Gcm, &vec![0; len]).is_none());
    }
    assert_eq!(Algorithm::from_name("chacha20-poly1305"), Some(Algorithm::ChaCha20Poly1305));
    assert_eq!(Algorithm::from_name("aes-256-gcm"), Some(Algorithm::Aes256Gcm));
    assert_eq!(Algorithm::from_name("aes-128-gcm"), None);
}

#[test]
fn empty_batch_and_empty_slots() {
    let key = Key::new(Algorithm::ChaCha20Poly1305, &[1u8; 32]).unwrap();
    let mut buf = vec![0u8; 16];
    let empty = Batch { offs: &[], lens: &[], count: 0, nonces: &[], aad: AadSlots::None, tag_offs: None };
    assert_eq!(seal_batch(&key, &mut buf, &empty), Ok(()));
    assert_eq!(open_batch(&key, &mut buf, &empty, &mut []), Ok(0));
    // A zero-length plaintext seals to a bare tag, which opens.
    let b = Batch { offs: &[0], lens: &[0], count: 1, nonces: &[0; 12], aad: AadSlots::None, tag_offs: None };
    seal_batch(&key, &mut buf, &b).unwrap();
    let mut st = [9u8];
    assert_eq!(open_batch(&key, &mut buf, &Batch { lens: &[16], ..b }, &mut st), Ok(0));
    assert_eq!(st[0], STATUS_OK);
}

/// Whatever the arguments, a batch either is refused or runs, and never panics or strays: random
/// offsets, lengths, tag offsets and AAD regions around the edges of small buffers.
#[test]
fn random_arguments_never_panic() {
    let mut rng = Lcg(99);
    let key = Key::new(Algorithm::Aes256Gcm, &[8u8; 32]).unwrap();
    let pick = |rng: &mut Lcg, limit: i32| -> i32 {
        match rng.next() % 8 {
            0 => -1 - (rng.next() % 4) as i32,
            1 => i32::MAX - (rng.next() % 4) as i32,
            _ => (rng.next() % (limit as u32 + 20)) as i32,
        }
    };
    let (mut refused, mut ran) = (0, 0);
    for _ in 0..20_000 {
        let buf_len = (rng.next() % 80) as usize;
        let n = (rng.next() % 4) as usize;
        let offs: Vec<i32> = (0..n).map(|_| pick(&mut rng, buf_len as i32)).collect();
        let lens: Vec<i32> = (0..n).map(|_| pick(&mut rng, buf_len as i32)).collect();
        let tags: Vec<i32> = (0..n).map(|_| pick(&mut rng, buf_len as i32)).collect();
        let aad_offs: Vec<i32> = (0..n).map(|_| pick(&mut rng, 16)).collect();
        let aad_lens: Vec<i32> = (0..n).map(|_| pick(&mut rng, 16)).collect();
        let nonces = vec![0u8; n * 12 + (rng.next() % 2) as usize];
        let count = n - usize::from(n > 0 && rng.next().is_multiple_of(5));
        let aad_sep = [0u8; 16];
        let aad = match rng.next() % 3 {
            0 => AadSlots::None,
            1 => AadSlots::Separate { buf: &aad_sep, offs: &aad_offs, lens: &aad_lens },
            _ => AadSlots::InData { base: (rng.next() % 8) as usize, len: (rng.next() % 16) as usize, offs: &aad_offs, lens: &aad_lens },
        };
        let tag_offs = if rng.next().is_multiple_of(2) { None } else { Some(&tags[..]) };
        let batch = Batch { offs: &offs, lens: &lens, count, nonces: &nonces, aad, tag_offs };
        let mut buf = vec![0u8; buf_len];
        let mut status = vec![0u8; count];
        let r = if rng.next().is_multiple_of(2) {
            seal_batch(&key, &mut buf, &batch).map(|()| 0)
        } else {
            open_batch(&key, &mut buf, &batch, &mut status)
        };
        if r.is_ok() { ran += 1 } else { refused += 1 }
    }
    assert!(ran > 1000 && refused > 1000, "ran {ran}, refused {refused}: both paths exercised");
}
