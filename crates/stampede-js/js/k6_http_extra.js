// The parts of `k6/http` not every script uses, evaluated in a VU only when first needed (see
// `extra()` in `k6_http.js`): selectors, Go-style form encoding and the cookie jar objects.
const N = globalThis.__stampede_native;

// Go's fmt "%v" of a number as k6 exports it: an integer up to 2^53 is an int64, anything
// else a float64 (shortest digits, exponent form below 1e-4 and from 1e6 on, as Go's %g).
function goNumber(n) {
  if (Number.isInteger(n) && Math.abs(n) <= 2 ** 53 && !Object.is(n, -0)) return String(n);
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Object.is(n, -0)) return '-0';
  const [mant, e] = n.toExponential().split('e');
  const exp = Number(e);
  if (exp >= -4 && exp < 6) return String(n);
  const abs = String(Math.abs(exp));
  return `${mant}e${exp < 0 ? '-' : '+'}${abs.length < 2 ? '0' + abs : abs}`;
}

const pad = (n, w) => String(n).padStart(w, '0');

// Go's time.Time.String() of a Date (k6 exports a Date as a time.Time; UTC here).
function goTime(d) {
  if (Number.isNaN(d.getTime())) return '<invalid Date>';
  const frac = d.getUTCMilliseconds() ? '.' + pad(d.getUTCMilliseconds(), 3).replace(/0+$/, '') : '';
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} `
    + `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${frac} +0000 UTC`;
}

// A form value as k6 writes it: Go's fmt "%v" of the exported JS value (nested arrays as
// `[a b]`, objects as `map[k:v]` with sorted keys, null and undefined as `<nil>`).
function goValue(v) {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string': return v;
    case 'number': return goNumber(v);
    case 'boolean': return v ? 'true' : 'false';
    case 'bigint': return String(v);
    case 'function': return '0x0';
    case 'symbol': return '<nil>';
    default:
  }
  if (v instanceof Date) return goTime(v);
  if (Array.isArray(v)) return '[' + v.map(goValue).join(' ') + ']';
  return 'map[' + Object.keys(v).sort().map((k) => k + ':' + goValue(v[k])).join(' ') + ']';
}

// Go's url.QueryEscape: space as '+', everything but letters, digits and -_.~ percent-encoded.
function queryEscape(s) {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

// An object body as k6 sends it: Go's url.Values.Encode(), keys sorted, an array a value each.
export function encodeForm(obj) {
  const parts = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    const key = queryEscape(k) + '=';
    if (Array.isArray(v)) for (const x of v) parts.push(key + queryEscape(goValue(x)));
    else parts.push(key + queryEscape(goValue(v)));
  }
  return parts.join('&');
}


// The native jar of a script's jar object, out of sight of Object.keys and JSON.stringify
// (k6's jar objects show only their four methods).
export const JAR = Symbol('jar');

// k6 reads the options' keys case-insensitively and converts them as Go's http.Cookie fields.
function jarOptions(opts) {
  const o = {};
  if (opts === undefined || opts === null) return o;
  for (const k of Object.keys(opts)) {
    const v = opts[k];
    switch (k.toLowerCase()) {
      case 'path': o.path = String(v); break;
      case 'domain': o.domain = String(v); break;
      case 'expires': o.expires = String(v); break;
      case 'max_age': o.max_age = Math.trunc(Number(v)) || 0; break;
      case 'secure': o.secure = !!v; break;
      case 'http_only': o.http_only = !!v; break;
      default:
    }
  }
  return o;
}

function wrapJar(handle) {
  const jar = {
    clear(u) { N.jarClear(handle, String(u)); },
    cookiesForURL(u) { return N.jarGet(handle, String(u)); },
    delete(u, name) { N.jarDelete(handle, String(u), String(name)); },
    set(u, name, value, opts) { return N.jarSet(handle, String(u), String(name), String(value), jarOptions(opts)); },
  };
  Object.defineProperty(jar, JAR, { value: handle });
  return jar;
}

// `new http.CookieJar()`: a jar of its own, used by requests given it as their `jar` param.
export function CookieJar() {
  return wrapJar(N.newJar());
}

// The VU's jar for the running iteration (a new one each iteration unless `noCookiesReset`).
export function cookieJar() {
  return wrapJar(N.vuJar());
}

// gjson paths with no special character: keys and indexes joined by single dots.
const PLAIN_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const DIGITS = /^[0-9]+$/;
const NOT_JSON = {};
// Scripts use a few selectors over and over: each is looked at once.
const PATHS = new Map();

// A plain path's keys, or null for any other gjson path.
function plainPath(path) {
  let keys = PATHS.get(path);
  if (keys === undefined) {
    keys = PLAIN_PATH.test(path) ? path.split('.') : null;
    if (PATHS.size < 1024) PATHS.set(path, keys);
  }
  return keys;
}

// A parsed JSON value's deep copy.
function copy(v) {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copy);
  const out = {};
  for (const k of Object.keys(v)) {
    // A `__proto__` key is an own property of the parse, not the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: copy(v[k]), enumerable: true, writable: true, configurable: true });
    else out[k] = copy(v[k]);
  }
  return out;
}

// `res.json(selector)`: a gjson path on the raw body, as in k6 (undefined when nothing matches).
export function select(res, selector) {
  if (res.body === null || res.body === undefined) throw new Error('the body is null so we can\'t transform it to JSON - this likely was because of a request error getting the response');
  const path = String(selector);
  // A plain path (keys and array indexes joined by dots) selects what gjson would from a
  // parse of the body kept for selectors only; an object or array comes out copied, as
  // k6 makes it anew each call, so the parse stays the body's. Other paths go to gjson.
  const keys = plainPath(path);
  if (keys !== null) {
    if (res._sb !== res.body) {
      res._sb = res.body;
      try {
        res._s = JSON.parse(typeof res.body === 'string' ? res.body : N.bytesToString(res.body));
      } catch (e) {
        res._s = NOT_JSON;
      }
    }
    let v = res._s;
    if (v !== NOT_JSON) {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (Array.isArray(v) ? !DIGITS.test(key) : (v === null || typeof v !== 'object' || !Object.hasOwn(v, key))) return undefined;
        v = v[key];
      }
      return copy(v);
    }
  }
  const text = typeof res.body === 'string' ? res.body : N.bytesToString(res.body);
  const raw = N.gjson(text, path);
  return raw === undefined ? undefined : JSON.parse(raw);
}
