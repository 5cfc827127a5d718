// The `k6` module. `N` is the VU's native binding object, captured at load time.
const N = globalThis.__stampede_native;

// Natively: the loop over the checks, each result's sample and the return value.
export const check = N.check;

export function sleep(secs) {
  N.sleep(Number(secs));
}

export function group(name, fn) {
  if (typeof fn !== 'function') throw new TypeError('group: the second argument must be a function');
  if (fn[Symbol.toStringTag] === 'AsyncFunction') {
    throw new Error('group() does not support async functions as arguments: the group would end before the function does');
  }
  const start = N.groupEnter(String(name));
  try {
    return fn();
  } finally {
    N.groupExit(start);
  }
}

export function fail(msg) {
  throw new Error(msg === undefined ? '' : String(msg));
}

export function randomSeed(seed) {
  let s = (Number(seed) >>> 0) || 0x9e3779b9;
  Math.random = function () {
    // xorshift32: deterministic for a given seed, as k6's randomSeed promises
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export default { check, sleep, group, fail, randomSeed };
