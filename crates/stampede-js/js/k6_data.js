// The `k6/data` module. Each VU runs the SharedArray callback once and caches it by name for
// the whole process, so the data is parsed once, not once per VU.
const N = globalThis.__stampede_native;

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
    const arr = JSON.parse(json);
    return Object.freeze(arr);
  }
}

export default { SharedArray };
