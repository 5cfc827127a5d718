// The `k6/crypto` module: hashes and HMAC.
const N = globalThis.__stampede_native;
N.load('codec');

function hash(algo) { return (input, enc) => N.hash(algo, input, enc || 'hex'); }

export const md5 = hash('md5');
export const sha1 = hash('sha1');
export const sha256 = hash('sha256');
export const sha384 = hash('sha384');
export const sha512 = hash('sha512');
export function hmac(algo, secret, data, enc) { return N.hmac(String(algo), secret, data, enc || 'hex'); }
export function randomBytes(n) { return N.randomBytes(Number(n)); }
export function createHash(algo) {
  let parts = [];
  return {
    update(d) { parts.push(d); return this; },
    digest(enc) { return N.hash(String(algo), parts, enc || 'hex'); },
  };
}

export default { md5, sha1, sha256, sha384, sha512, hmac, randomBytes, createHash };
