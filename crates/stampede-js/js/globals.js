// The k6 globals written in JavaScript: `console` (k6's log format is applied natively) and
// `setTimeout`/`setInterval` on the VU's event loop (driven by `vu::run_event_loop`, which asks
// `__stampede_timers.next()` how long to wait and calls `runDue()`).
const N = globalThis.__stampede_native;

function fmt(args) {
  return args.map(function (a) {
    if (typeof a === 'string') return a;
    if (a instanceof Error) return String(a);
    if (a === undefined) return 'undefined';
    if (typeof a === 'function') return '[object Function]';
    try { const j = JSON.stringify(a); return j === undefined ? String(a) : j; } catch (e) { return String(a); }
  }).join(' ');
}
const mk = (level) => function (...args) { N.log(level, fmt(args)); };
globalThis.console = { log: mk('info'), info: mk('info'), debug: mk('debug'), warn: mk('warning'), error: mk('error') };

// The typed arrays are made on first use (`VuState::typed_arrays`): until then each of their
// constructors' globals is an accessor that makes them all, which replaces the accessors with
// the constructors, and then reads (or assigns) the one asked for. (`Atomics` comes with them:
// QuickJS aborts if its global exists beforehand.)
const ownDescriptor = Object.getOwnPropertyDescriptor;
for (const name of ['ArrayBuffer', 'SharedArrayBuffer', 'Uint8ClampedArray', 'Int8Array',
  'Uint8Array', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array',
  'BigUint64Array', 'Float16Array', 'Float32Array', 'Float64Array', 'DataView']) {
  const lazy = function (v) {
    N.typedArrays();
    const d = ownDescriptor(globalThis, name);
    if (d !== undefined && d.get === lazy) {
      // Not one this QuickJS makes.
      delete globalThis[name];
      return undefined;
    }
    if (arguments.length > 0) globalThis[name] = v;
    return globalThis[name];
  };
  Object.defineProperty(globalThis, name, { configurable: true, enumerable: false, get: lazy, set: lazy });
}

const timers = new Map();
let nextId = 1;
function add(fn, ms, args, repeat) {
  if (typeof fn !== 'function') throw new TypeError('the callback must be a function');
  const delay = Math.max(0, Number(ms) || 0);
  const id = nextId++;
  timers.set(id, { at: N.nowMs() + delay, fn, args, every: repeat ? Math.max(1, delay) : 0 });
  N.timersPending(timers.size);
  return id;
}
globalThis.setTimeout = (fn, ms, ...args) => add(fn, ms, args, false);
globalThis.setInterval = (fn, ms, ...args) => add(fn, ms, args, true);
globalThis.clearTimeout = (id) => { if (timers.delete(id)) N.timersPending(timers.size); };
globalThis.clearInterval = globalThis.clearTimeout;
Object.defineProperty(globalThis, '__stampede_timers', { enumerable: false, value: {
  next() {
    if (timers.size === 0) return -1;
    let at = Infinity;
    for (const t of timers.values()) if (t.at < at) at = t.at;
    return Math.max(0, at - N.nowMs());
  },
  runDue() {
    const now = N.nowMs();
    for (const [id, t] of [...timers]) {
      if (t.at > now || !timers.has(id)) continue;
      if (t.every > 0) t.at = now + t.every; else { timers.delete(id); N.timersPending(timers.size); }
      t.fn(...t.args);
    }
  },
} });
