// MD5 (RFC 1321), for the Content-MD5 that OSS asks of a DeleteMultipleObjects body: browsers' SubtleCrypto
// has no MD5. Only small documents are hashed here, in one go.

const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const CONSTANTS = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);

/** The 16-byte MD5 digest of `bytes` (a Uint8Array). */
export function md5(bytes) {
  const length = bytes.length;
  const padded = new Uint8Array(Math.floor((length + 8) / 64) * 64 + 64);
  padded.set(bytes);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, (length * 8) >>> 0, true);
  view.setUint32(padded.length - 4, Math.floor(length / 2 ** 29), true);
  const state = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476];
  const words = new Int32Array(16);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i += 1) words[i] = view.getInt32(offset + 4 * i, true);
    let [a, b, c, d] = state;
    for (let i = 0; i < 64; i += 1) {
      let f;
      let g;
      if (i < 16) [f, g] = [(b & c) | (~b & d), i];
      else if (i < 32) [f, g] = [(d & b) | (~d & c), (5 * i + 1) % 16];
      else if (i < 48) [f, g] = [b ^ c ^ d, (3 * i + 5) % 16];
      else [f, g] = [c ^ (b | ~d), (7 * i) % 16];
      const sum = (a + f + CONSTANTS[i] + words[g]) | 0;
      const shift = SHIFTS[(i >> 4) * 4 + (i % 4)];
      [a, d, c] = [d, c, b];
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }
  const digest = new DataView(new ArrayBuffer(16));
  state.forEach((word, i) => digest.setInt32(4 * i, word, true));
  return new Uint8Array(digest.buffer);
}

/** Content-MD5's value: the base64 of the MD5 of `text` as UTF-8. */
export function contentMd5(text) {
  return btoa(String.fromCharCode(...md5(new TextEncoder().encode(text))));
}
