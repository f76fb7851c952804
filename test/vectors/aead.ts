/**
 * AEAD test vectors (hex), with their sources (also listed in SOURCES.md). Each was checked
 * against node:crypto (OpenSSL 3.0) when it was written here; the same vectors are in the
 * addon's Rust unit tests (native/src/aead/tests.rs).
 */

export interface AeadVector {
  name: string;
  algorithm: 'chacha20-poly1305' | 'aes-256-gcm';
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const hexOf = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

const GCM_K = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const GCM_IV = 'cafebabefacedbaddecaf888';
const GCM_P =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const GCM_C =
  '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';

export const AEAD_VECTORS: AeadVector[] = [
  {
    // RFC 8439 §2.8.2, "Example and Test Vector for AEAD_CHACHA20_POLY1305".
    name: 'RFC 8439 §2.8.2',
    algorithm: 'chacha20-poly1305',
    key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
    nonce: '070000004041424344454647',
    aad: '50515253c0c1c2c3c4c5c6c7',
    plaintext: hexOf("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."),
    ciphertext:
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b' +
      '1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
      '3ff4def08e4b7a9de576d26586cec64b6116',
    tag: '1ae10b594f09e26a7e902ecbd0600691',
  },
  {
    // RFC 8439 Appendix A.5, "ChaCha20-Poly1305 AEAD Decryption" (the plaintext has curly quotes).
    name: 'RFC 8439 A.5',
    algorithm: 'chacha20-poly1305',
    key: '1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0',
    nonce: '000000000102030405060708',
    aad: 'f33388860000000000004e91',
    plaintext: hexOf(
      'Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference material or to cite them other than as /\u201cwork in progress./\u201d',
    ),
    ciphertext:
      '64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0' +
      'bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855' +
      '9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e9' +
      '9040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a' +
      '0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130' +
      '305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b',
    tag: 'eead9d67890cbb22392336fea1851f38',
  },
  // McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", revised 2005, Appendix B:
  // test cases 13 to 16 are the AES-256 ones.
  {
    name: 'GCM test case 13',
    algorithm: 'aes-256-gcm',
    key: '00'.repeat(32),
    nonce: '00'.repeat(12),
    aad: '',
    plaintext: '',
    ciphertext: '',
    tag: '530f8afbc74536b9a963b4f1c4cb738b',
  },
  {
    name: 'GCM test case 14',
    algorithm: 'aes-256-gcm',
    key: '00'.repeat(32),
    nonce: '00'.repeat(12),
    aad: '',
    plaintext: '00'.repeat(16),
    ciphertext: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  { name: 'GCM test case 15', algorithm: 'aes-256-gcm', key: GCM_K, nonce: GCM_IV, aad: '', plaintext: GCM_P, ciphertext: GCM_C, tag: 'b094dac5d93471bdec1a502270e3cc6c' },
  {
    name: 'GCM test case 16',
    algorithm: 'aes-256-gcm',
    key: GCM_K,
    nonce: GCM_IV,
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    plaintext: GCM_P.slice(0, 120),
    ciphertext: GCM_C.slice(0, 120),
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];
