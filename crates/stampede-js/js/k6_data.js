// The `k6/data` module. Each VU runs the SharedArray callback once and caches it by name for
// the whole process, so the data is parsed once, not once per VU.
const N = globalThis.__stampede_native;

function deepFreeze(v) {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze(v[k]);
    Object.freeze(v);
  }
  return v;
}

export class SharedArray {
  constructor(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('SharedArray: the second argument must be a function');
    let json = N.sharedGet(String(name));
    if (json === undefined) {
      const data = fn();
      if (!Array.isArray(data)) throw new TypeError('SharedArray: the callback must return an array');
      json = JSON.stringify(data);
      N.sharedPut(String(name), json);
    }
    // Frozen all the way down, as k6's are: writing to an element throws (modules are strict).
    return deepFreeze(JSON.parse(json));
  }
}

export default { SharedArray };
