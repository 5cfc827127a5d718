// The `k6/http` module: argument handling and the Response class in JS; the request itself,
// its timings and its metrics in Rust.
const N = globalThis.__stampede_native;
N.load('http');

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
function encodeForm(obj) {
  const parts = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    const key = queryEscape(k) + '=';
    if (Array.isArray(v)) for (const x of v) parts.push(key + queryEscape(goValue(x)));
    else parts.push(key + queryEscape(goValue(v)));
  }
  return parts.join('&');
}

function bodyOf(body, headers) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return body;
  if (ArrayBuffer.isView(body)) return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
  if (typeof body === 'object') {
    if (!headers.some((h) => h[0].toLowerCase() === 'content-type')) {
      headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    }
    return encodeForm(body);
  }
  return String(body);
}

function durationMs(v) {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  return N.parseDurationMs(String(v));
}

// The request as the native side reads it: an array, so no property names are looked up.
// [method, url, body, headers [[k, v]...], cookies [[k, v, replace]...], tags {}, timeoutMs,
//  redirects, responseType, hasCallback, callback, throw, jar handle, auth, compression]
function prepare(method, url, body, params) {
  const p = params || {};
  const headers = [];
  if (p.headers) for (const k of Object.keys(p.headers)) headers.push([k, String(p.headers[k])]);
  const b = bodyOf(body, headers);
  let cookies;
  if (p.cookies) {
    cookies = [];
    for (const k of Object.keys(p.cookies)) {
      const c = p.cookies[k];
      if (typeof c === 'object' && c !== null) cookies.push([k, String(c.value), c.replace ? '1' : '0']);
      else cookies.push([k, String(c)]);
    }
  }
  let tags;
  if (p.tags) {
    tags = {};
    for (const k of Object.keys(p.tags)) tags[k] = String(p.tags[k]);
  }
  if (url && typeof url === 'object' && url.__k6url) {
    if (!tags || tags.name === undefined) {
      tags = tags || {};
      tags.name = url.name;
    }
    url = url.url;
  }
  const req = [
    String(method).toUpperCase(),
    String(url),
    b,
    headers,
    cookies,
    tags,
    durationMs(p.timeout),
    p.redirects,
    p.responseType,
    'responseCallback' in p,
    p.responseCallback,
    p.throw === undefined ? undefined : !!p.throw,
  ];
  // The rarer params only when given: the native side reads past the end as undefined.
  const { jar, auth, compression } = p;
  if (jar !== undefined || auth !== undefined || compression !== undefined) {
    req.push(
      // As k6: a `jar` that is not a cookie jar is ignored.
      jar && typeof jar === 'object' ? jar[JAR] : undefined,
      auth === undefined || auth === null ? undefined : String(auth),
      compression === undefined || compression === null ? undefined : String(compression),
    );
  }
  return req;
}

// Go's http.CanonicalHeaderKey: each dash-separated word capitalized, unless the name holds a
// character a header name may not (then it is left as it is).
function canonicalHeader(name) {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (m, dash, c) => dash + c.toUpperCase());
}

// Go's zero time.Time in milliseconds, which k6 reports for a cookie without a valid Expires.
const GO_ZERO_TIME_MS = -6795364578871;

function parseSetCookie(line) {
  const parts = line.split(';');
  const eq = parts[0].indexOf('=');
  const c = {
    name: parts[0].slice(0, eq).trim(), value: parts[0].slice(eq + 1).trim(),
    domain: '', path: '', http_only: false, secure: false, max_age: 0, expires: GO_ZERO_TIME_MS,
  };
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i].trim();
    const j = p.indexOf('=');
    const k = (j < 0 ? p : p.slice(0, j)).toLowerCase();
    const v = j < 0 ? '' : p.slice(j + 1);
    if (k === 'domain') c.domain = v;
    else if (k === 'path') c.path = v;
    else if (k === 'httponly') c.http_only = true;
    else if (k === 'secure') c.secure = true;
    else if (k === 'max-age') {
      // As Go reads it: an integer without a leading zero; zero or less means "delete now" (-1).
      const n = Number(v);
      if (/^[+-]?\d+$/.test(v) && !(n !== 0 && v[0] === '0')) c.max_age = n > 0 ? n : -1;
    } else if (k === 'expires') {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) c.expires = t;
    }
  }
  return c;
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

export class Response {
  // Everything but `status` and `body` waits in `_n` (a native ResponseMeta) until read.
  get status_text() { return this._n.field(0); }
  get proto() { return this._n.field(1); }
  get url() { return this._n.field(2); }
  get remote_ip() { return this._n.field(3); }
  get remote_port() { return this._n.field(4); }
  get error() { return this._n.field(5); }
  get error_code() { return this._n.field(6); }
  get tls_version() { return this._n.field(9); }
  get tls_cipher_suite() { return this._n.field(10); }
  // A stapled OCSP response is not read: k6 shows these zero values when the server sends none.
  get ocsp() {
    return {
      produced_at: 0, this_update: 0, next_update: 0, revoked_at: 0, revocation_reason: '',
      status: this.tls_version === '' ? '' : 'unknown',
    };
  }
  get timings() {
    if (this._t === undefined) {
      const m = this._n.timings();
      this._t = {
        blocked: m[0], looking_up: 0, connecting: m[1], tls_handshaking: m[2], sending: m[3],
        waiting: m[4], receiving: m[5], duration: m[6],
      };
    }
    return this._t;
  }
  // JSON.stringify(res) shows the fields as k6 does, not the internal ones.
  toJSON() {
    return {
      status: this.status, status_text: this.status_text, proto: this.proto, url: this.url,
      remote_ip: this.remote_ip, remote_port: this.remote_port, error: this.error,
      error_code: this.error_code, headers: this.headers, body: this.body, timings: this.timings,
      cookies: this.cookies, tls_version: this.tls_version, tls_cipher_suite: this.tls_cipher_suite,
      ocsp: this.ocsp, request: this.request,
    };
  }
  get headers() {
    if (this._headers === undefined) this._headers = this._n.headers();
    return this._headers;
  }
  get cookies() {
    if (this._cookies === undefined) {
      const out = {};
      const lines = this._n.field(7);
      if (lines) {
        for (const line of lines.split('\n')) {
          const c = parseSetCookie(line);
          (out[c.name] = out[c.name] || []).push(c);
        }
      }
      this._cookies = out;
    }
    return this._cookies;
  }
  // The request as sent, as k6 shows it: the script's headers under Go-canonical names, the
  // User-Agent unless the script set one, the Cookie header and the cookies it carried.
  get request() {
    const req = this._req || [];
    const headers = {};
    for (const [k, v] of req[3] || []) headers[canonicalHeader(k)] = [v];
    if (N.userAgent !== undefined && headers['User-Agent'] === undefined) headers['User-Agent'] = [N.userAgent];
    const cookies = {};
    const sent = this._n.field(8);
    if (sent) {
      headers.Cookie = [sent];
      for (const pair of sent.split('; ')) {
        const eq = pair.indexOf('=');
        const name = eq < 0 ? pair : pair.slice(0, eq);
        (cookies[name] = cookies[name] || []).push({ name, value: eq < 0 ? '' : pair.slice(eq + 1), replace: false });
      }
    }
    return { method: req[0], url: req[1], headers, body: typeof req[2] === 'string' ? req[2] : '', cookies };
  }
  // Parsed once per response, as k6 caches it: scripts often call res.json(...) several times
  // on one response (checks, then metrics), and parsing is the costly part of a JSON request.
  // A selector is a gjson path run on the raw body, as in k6 (undefined when nothing matches).
  json(selector) {
    if (selector !== undefined) {
      if (this.body === null || this.body === undefined) throw new Error('the body is null so we can\'t transform it to JSON - this likely was because of a request error getting the response');
      const path = String(selector);
      // A plain path (keys and array indexes joined by dots) selects what gjson would from a
      // parse of the body kept for selectors only; an object or array comes out copied, as
      // k6 makes it anew each call, so the parse stays the body's. Other paths go to gjson.
      const keys = plainPath(path);
      if (keys !== null) {
        if (this._sb !== this.body) {
          this._sb = this.body;
          try {
            this._s = JSON.parse(typeof this.body === 'string' ? this.body : N.bytesToString(this.body));
          } catch (e) {
            this._s = NOT_JSON;
          }
        }
        let v = this._s;
        if (v !== NOT_JSON) {
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i];
            if (Array.isArray(v) ? !DIGITS.test(key) : (v === null || typeof v !== 'object' || !Object.hasOwn(v, key))) return undefined;
            v = v[key];
          }
          return copy(v);
        }
      }
      const text = typeof this.body === 'string' ? this.body : N.bytesToString(this.body);
      const raw = N.gjson(text, path);
      return raw === undefined ? undefined : JSON.parse(raw);
    }
    let parsed = this._j;
    if (parsed === undefined || this._jb !== this.body) {
      if (this.body === null || this.body === undefined) throw new Error('the body is null so we can\'t transform it to JSON - this likely was because of a request error getting the response');
      const text = typeof this.body === 'string' ? this.body : N.bytesToString(this.body);
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        // k6 raises Go's error (its text after "error:" is Go's, not this one).
        const err = new Error('cannot parse json due to an error, error: ' + e.message);
        err.name = 'GoError';
        throw err;
      }
      this._j = parsed;
      this._jb = this.body;
    }
    return parsed;
  }
  html() {
    throw new Error('Response.html() is not supported by stampede yet');
  }
}

// Responses are made natively with this prototype: own properties `status`, `body`, `_n` (the
// native rest, read by the getters above) and `_req` (for `res.request`) only, as adding a
// property is the costly part of building an object and most scripts read few fields.
N.setResponsePrototype(Response.prototype);

export function request(method, url, body, params) {
  return N.request(prepare(method, url, body, params));
}

// Runs the request now and settles with its response (the VU is single-threaded: requests
// made this way run one after another, not concurrently).
export function asyncRequest(method, url, body, params) {
  return new Promise((resolve, reject) => {
    try {
      resolve(request(method, url, body, params));
    } catch (e) {
      reject(e);
    }
  });
}

export function get(url, params) {
  if (params === undefined && typeof url === 'string') {
    // The common case, without building the full request array.
    return N.request(['GET', url]);
  }
  return request('GET', url, null, params);
}
export function head(url, params) { return request('HEAD', url, null, params); }
export function post(url, body, params) { return request('POST', url, body, params); }
export function put(url, body, params) { return request('PUT', url, body, params); }
export function patch(url, body, params) { return request('PATCH', url, body, params); }
export function del(url, body, params) { return request('DELETE', url, body, params); }
export function options(url, body, params) { return request('OPTIONS', url, body, params); }

function batchItem(item) {
  if (typeof item === 'string' || (item && item.__k6url)) return prepare('GET', item, null, undefined);
  if (Array.isArray(item)) return prepare(item[0], item[1], item[2], item[3]);
  return prepare(item.method || 'GET', item.url, item.body, item.params);
}

export function batch(requests) {
  if (Array.isArray(requests)) {
    return N.batch(requests.map(batchItem));
  }
  const keys = Object.keys(requests);
  const reqs = keys.map((k) => batchItem(requests[k]));
  const raws = N.batch(reqs);
  const out = {};
  keys.forEach((k, i) => { out[k] = raws[i]; });
  return out;
}

export function expectedStatuses(...args) {
  const ranges = [];
  for (const a of args) {
    if (typeof a === 'number') ranges.push([a, a]);
    else if (a && typeof a === 'object' && 'min' in a && 'max' in a) ranges.push([Number(a.min), Number(a.max)]);
    else throw new TypeError('expectedStatuses: arguments must be status codes or {min, max} objects');
  }
  return { __expectedStatuses: ranges };
}

export function setResponseCallback(cb) {
  N.setResponseCallback(cb);
}

export function url(strings, ...values) {
  let name = '';
  let full = '';
  strings.forEach((s, i) => {
    name += s;
    full += s;
    if (i < values.length) {
      name += '${}';
      full += String(values[i]);
    }
  });
  return { __k6url: true, url: full, name, toString() { return full; } };
}

// The native jar of a script's jar object, out of sight of Object.keys and JSON.stringify
// (k6's jar objects show only their four methods).
const JAR = Symbol('jar');

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

export const TLS_1_0 = 'tls1.0';
export const TLS_1_1 = 'tls1.1';
export const TLS_1_2 = 'tls1.2';
export const TLS_1_3 = 'tls1.3';

export default {
  request, asyncRequest, get, head, post, put, patch, del, options, batch, expectedStatuses, setResponseCallback,
  url, cookieJar, CookieJar, Response, TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3,
};
