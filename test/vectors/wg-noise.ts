/**
 * WireGuard fixed-key vectors: ../shared/notes/wireguard-protocol.md §7.2 (computed by a
 * reference that interoperated live with wireguard-go 0.0.20220316) and §7.1 (wireguard-go
 * device/kdf_test.go). Hex as printed there.
 */

const rep = (first: string, mid: string, last: string): string => first + mid.repeat(30) + last;

export const inputs = {
  si: rep('10', '11', '51'),
  sr: rep('20', '22', '62'),
  ei: rep('30', '33', '73'),
  er: rep('40', '44', '44'),
  initiatorIndex: 0x11223344,
  responderIndex: 0xaabbccdd,
  unixSec: 1700000000,
  timestamp: '400000006553f10a00000000',
  psk: '99'.repeat(32),
};

export const C0 = '60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36';
export const H0 = '2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3';

export const derived = {
  Si: '7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13',
  Sr: '0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20',
  ss: '9e004098efc091d4ec2663b4e9f5cfd4d7064571690b4bea97ab146ab9f35056',
  mac1keySr: '2b14c2a1d73fe52519772891d6df632bd2408279e87eb80c61bc395fccadf4a6',
  cookiekeySr: 'f38243a909cf26b7ec109798fd3dfdbdb7592367db444819154f6582389fdc1b',
  Ei: '7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14',
  Er: 'ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b',
};

/** Intermediate values of message 1 (initiator's trace labels). */
export const msg1Trace: [string, string][] = [
  ['H=MIX_HASH(H0,S_r)', '1f02fc782351f5d58de3af43c3b142c4268bf3ae8051d9469eb922a666d4745c'],
  ['C=KDF1(C0,E_i)', '01c55808bf91efc4a10fdcde0976b8f9d48bc519545ef9c3752f28e35fe66a0a'],
  ['H=MIX_HASH(H,E_i)', '78c39ebb1ff92afd4ce9aac9a0595053e641dbb7f5032a122b3458a29474f1e6'],
  ['C (after es)', 'b8782bd761f1d0078fb179bf33a29db3906525564566c5c9426ec930c872f7a1'],
  ['k (static)', '1295d5fce6e4fd28e89cacb34e3fc1b5f94a5e7424439e3ab3b659d2f57ec290'],
  ['H (after static)', '68c07e6b42b8c15626df2e2745a1d8a64367fd2b019b13d605f8addfafdb94c6'],
  ['C (after ss)', '24eca314409f2ca9ccbf8d50ebb72b7235d67ed11b21eeefc67942a2596df51e'],
  ['k (timestamp)', '92253228a5a30c72e5f4784c782d1608295ed7c6a63dcc7182edb732af95397d'],
  ['H (after timestamp)', 'b0368334516a0c37bb427da21337d3cf12bf1273783d82f9a35a329065efa39b'],
];

export const initiation =
  '01000000443322117b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4' +
  'cb8a1b1481e498317da959fba46669572516a5e6c021bfa620bb6c56ca0082e1feae1498' +
  '8c2c64d024c617734a263f76a008df04d0f94bad8ee75ec8e1c26955d72d5dc0a3c87d5e' +
  '6db7cf66723bf09ddcb6b5a3cbd335a6a64e2606ed6f563300000000000000000000000000000000';

/** Intermediate values of message 2 without a PSK (responder's trace labels). */
export const msg2Trace: [string, string][] = [
  ['C=KDF1(C,E_r)', 'e69442b26039a82bc5f4b4cc3ce6b0f8a8c7aaf7fe1df911a133ca3ce5daa335'],
  ['H=MIX_HASH(H,E_r)', '7da20d005b8623102de37201d93d852693cbf622bf80119a4c92cc1535fc21c6'],
  ['C (after ee)', 'ec0fb147ebffc2fa145fb7e1b2f153349956a5d421cb51baa92422b456e625f3'],
  ['C (after se)', '396dd574304e4d53ebf291e46fe95ae3b47aa5b346c7f74692b8d3757016d4ef'],
  ['C (after psk)', 'f4f392316a25ff6209d60db8c4929d0bc8b51edcd674acc0739cb3ce00f14200'],
  ['tau', '6c62087a4d3ab868607f00a63259d69aed0b0cecead64f893c912a159ed181f7'],
  ['k (empty)', '27f198a40be5b6fede3fce1ae0e4d60af33ac294eeffd1375aa8ba50e461b9b9'],
  ['H (after tau)', '174548453840e98b4be32c51b0114abf814b10883b5cbf6e55065bd38a4a9327'],
  ['H final', '6793e5ba49058dd03998af397fa9ec6246a619e61c4831b3297df9ca4fbf64ce'],
];

export const response =
  '02000000ddccbbaa44332211ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf' +
  '2419731c1fff3e6b7f52b246c1ea76ed958e7e0069710131a6d76fdf93a2da3bfe02e5bc' +
  '4aafe18200000000000000000000000000000000';

export const T1 = 'e07b709efbfd0361a08a9de658ceb3847d648c207ed71d4dbdfe248bef23a651';
export const T2 = 'f76ba55a113d83abf16240859ca361a9017ae9fbac0b4aa43179112c40e0163f';

/** Transport messages with MTU 1420; payload 01 02 .. 14. */
export const transport = {
  initiatorKeepalive0: '04000000ddccbbaa000000000000000069958abbebcb06f97a256144abed28f6',
  responderData0:
    '040000004433221100000000000000003203886cfa791ee4476285848e8dd3816bacc66e' + '17dda77713f2bd460ce7a2c21a829ae62f5de09e0a17a1471e7f85bc',
  initiatorData1:
    '04000000ddccbbaa01000000000000002a16f6f0339adf288e2414bb5a841c3eb0fc4464' + '6dcbb00f63ab67606ab92ff248a5af3f9516ab8439d1ce81a6f4f3ed',
};

/** The same inputs with PSK 99 x 32. */
export const withPsk = {
  cAfterPsk: 'ffcb4fa4f941c90f3ff94c3655f4da6f33be8104a73ded17806d60c62c9d65a9',
  tau: '83cf0b67f904f48ad518ea51908c8276a6ff6e9bf9d47544551c9f64c35ca3aa',
  response:
    '02000000ddccbbaa44332211ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf' +
    '2419731c1fff3e6b2105ef4f9fd44693a917d5beee3a9ef252f048bca52eae2122ae0b17' +
    '6b46ae9d00000000000000000000000000000000',
  T1: '7a3c69cfd787b0596ac6d1e605fc27fe00d5e793078401e15ff2fc64071ee005',
  T2: 'cbf3a9342df4f2f44b0f841d8b3983c920f49b09f872bf2ada1f3c4808a1869a',
  initiatorKeepalive0: '04000000ddccbbaa0000000000000000dc762d201af016834a4ef47582bfa314',
};

/** Cookie vector: secret 55 x 32, src 127.0.0.1:51820, nonce 60..77, answering `initiation`. */
export const cookie = {
  secret: '55'.repeat(32),
  src: '7f000001ca6c',
  nonce: '606162636465666768696a6b6c6d6e6f7071727374757677',
  cookie: 'f6b526973e6537b400b4779bc7271191',
  reply:
    '0300000044332211606162636465666768696a6b6c6d6e6f70717273747576773a8b7138' + '30fbef51ec477809008908de4f42f904dd54a087b09604e9b14c37fd',
  mac2: '5d1f0b976144e483a7a6a3f37f77a419',
};

/** wireguard-go device/kdf_test.go: [key, input, T1, T2, T3] (hex). */
export const kdfVectors: [string, string, string, string, string][] = [
  [
    '746573742d6b6579',
    '746573742d696e707574',
    '6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633',
    'df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a',
    'fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24',
  ],
  [
    '776972656775617264',
    // The notes' table prints "same" (test-input) here; wireguard-go's kdf_test.go has "wireguard".
    '776972656775617264',
    '491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8',
    '1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f',
    '31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160',
  ],
  [
    '',
    '',
    '8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0',
    '58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e',
    '0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e',
  ],
];

/** HChaCha20 (draft-irtf-cfrg-xchacha §2.2.1) and an empty ChaCha20-Poly1305 seal (notes §7.2). */
export const hchacha = {
  key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  nonce: '000000090000004a0000000031415927',
  out: '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc',
};
export const emptySealTag = { key: '01'.repeat(32), tag: '35eaf9cc876d72bd36f8b7cf7d8c8142' };

/** replay/replay_test.go sequence (notes §5): W = 8128, T = W + 1, R = 2^64 - 2^13 - 1, as bigint. */
export const REPLAY_WINDOW = 8128n;
export function replaySequence(): [bigint, boolean][] {
  const T = REPLAY_WINDOW + 1n;
  const R = 2n ** 64n - 2n ** 13n - 1n;
  return [
    [0n, true], [1n, true], [1n, false], [9n, true], [8n, true], [7n, true], [7n, false], [T, true], [T - 1n, true], [T - 1n, false],
    [T - 2n, true], [2n, true], [2n, false], [T + 16n, true], [3n, false], [T + 16n, false], [4n * T, true], [4n * T - (T - 1n), true],
    [10n, false], [4n * T - T, false], [4n * T - (T + 1n), false], [4n * T - (T - 2n), true], [4n * T + 1n - T, false], [0n, false],
    [R, false], [R - 1n, true], [R, false], [R - 1n, false], [R - 2n, true], [R + 1n, false], [R + 2n, false], [R - 2n, false],
    [R - 3n, true], [0n, false],
  ];
}
