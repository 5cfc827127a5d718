// The `k6/ws` module: `connect()` blocks the VU and runs the socket's event loop until it closes.
// Events come from the native side one at a time (`wsNext`), which also wakes up for timers.
const N = globalThis.__stampede_native;
N.load('ws');

class Socket {
  constructor(id) {
    this._id = id;
    this._handlers = {};
    this._timers = [];
    this._closed = false;
  }
  on(event, fn) {
    (this._handlers[event] = this._handlers[event] || []).push(fn);
  }
  _emit(event, ...args) {
    for (const fn of this._handlers[event] || []) fn.apply(this, args);
  }
  send(data) {
    if (!this._closed) N.wsSend(this._id, String(data), false);
  }
  sendBinary(data) {
    if (!this._closed) N.wsSend(this._id, data, true);
  }
  ping() {
    if (!this._closed) N.wsPing(this._id);
  }
  close(code) {
    if (!this._closed) N.wsClose(this._id, code === undefined ? 1000 : Number(code));
  }
  setTimeout(fn, ms) {
    const t = { at: N.nowMs() + Math.max(0, Number(ms) || 0), fn, every: 0 };
    this._timers.push(t);
    return t;
  }
  setInterval(fn, ms) {
    const every = Math.max(1, Number(ms) || 0);
    const t = { at: N.nowMs() + every, fn, every };
    this._timers.push(t);
    return t;
  }
  clearTimeout(t) { this._timers = this._timers.filter((x) => x !== t); }
  clearInterval(t) { this.clearTimeout(t); }
}

function runTimers(socket) {
  const now = N.nowMs();
  for (const t of socket._timers.slice()) {
    if (t.at <= now && socket._timers.includes(t)) {
      if (t.every > 0) t.at = now + t.every;
      else socket.clearTimeout(t);
      t.fn.call(socket);
    }
  }
}

function nextTimer(socket) {
  let next = -1;
  for (const t of socket._timers) if (next < 0 || t.at < next) next = t.at;
  return next < 0 ? -1 : Math.max(0, next - N.nowMs());
}

export function connect(url, params, callback) {
  if (typeof params === 'function') {
    callback = params;
    params = {};
  }
  const p = params || {};
  const headers = [];
  if (p.headers) for (const k of Object.keys(p.headers)) headers.push([k, String(p.headers[k])]);
  let tags;
  if (p.tags) {
    tags = {};
    for (const k of Object.keys(p.tags)) tags[k] = String(p.tags[k]);
  }
  // [id (-1: not open), status, error, headers "K: v\n...", url, body]
  const r = N.wsConnect(String(url), headers, tags);
  const res = { url: r[4], status: r[1], headers: {}, body: r[5], error: r[2] };
  if (r[3]) for (const line of r[3].split('\n')) { const i = line.indexOf(': '); res.headers[line.slice(0, i)] = line.slice(i + 2); }
  // A failed handshake: the response (status 0 and the error when nothing answered), as k6.
  if (r[0] < 0) return res;
  const socket = new Socket(r[0]);
  try {
    if (typeof callback === 'function') callback(socket);
    socket._emit('open');
    for (;;) {
      runTimers(socket);
      // [kind, data]: 'message' | 'binaryMessage' | 'ping' | 'pong' | 'close' | 'error' | 'timer'
      const ev = N.wsNext(socket._id, nextTimer(socket));
      const kind = ev[0];
      if (kind === 'timer') continue;
      if (kind === 'close') {
        socket._closed = true;
        socket._emit('close', ev[1]);
        break;
      }
      if (kind === 'error') {
        socket._emit('error', { error: () => ev[1] });
        continue;
      }
      socket._emit(kind, ev[1]);
    }
  } finally {
    N.wsFinish(socket._id);
  }
  return res;
}

export default { connect };
