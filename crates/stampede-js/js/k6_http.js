// The `k6/http` module: argument handling and the Response class in JS; the request itself,
// its timings and its metrics in Rust.
const N = globalThis.__stampede_native;
N.load('http');

// What few scripts use (Go-style form values, cookie jar objects) is in `k6_http_extra.js`,
// evaluated in a VU the first time it is needed: every VU loads this module's bytecode, so what
// is here costs memory in each of them.
let extraModule;
function extra() {
  if (extraModule === undefined) extraModule = N.internalModule('http_extra');
  return extraModule;
}

// An object body as k6 sends it: Go's url.Values.Encode().
function encodeForm(obj) { return extra().encodeForm(obj); }

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
      jar && typeof jar === 'object' ? jar[extra().JAR] : undefined,
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
  // A selector is a gjson path on the raw body, as in k6 (see `select` in k6_http_extra.js).
  json(selector) {
    if (selector !== undefined) return extra().select(this, selector);
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

// `new http.CookieJar()`: a jar of its own, used by requests given it as their `jar` param.
export function CookieJar() {
  return extra().CookieJar();
}

// The VU's jar for the running iteration (a new one each iteration unless `noCookiesReset`).
export function cookieJar() {
  return extra().cookieJar();
}

export const TLS_1_0 = 'tls1.0';
export const TLS_1_1 = 'tls1.1';
export const TLS_1_2 = 'tls1.2';
export const TLS_1_3 = 'tls1.3';

export default {
  request, asyncRequest, get, head, post, put, patch, del, options, batch, expectedStatuses, setResponseCallback,
  url, cookieJar, CookieJar, Response, TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3,
};
