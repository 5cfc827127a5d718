// The `k6/encoding` module.
const N = globalThis.__stampede_native;
N.load('codec');

export function b64encode(input, encoding) {
  return N.b64encode(typeof input === 'string' ? input : input, encoding || 'std');
}

export function b64decode(input, encoding, format) {
  return N.b64decode(String(input), encoding || 'std', format || '');
}

export default { b64encode, b64decode };
