// Shared knobs of the examples.
//   BASE_URL  target base URL (default http://127.0.0.1:3000)
//   SCALE     multiplies every stage/scenario duration (default 1 = full length;
//             SCALE=0.01 turns a 5m stage into 3s). Scaled durations are at least 1s.
//   VU_SCALE  multiplies VU targets and arrival rates (default 1), for small machines.

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const WS_URL = BASE_URL.replace(/^http/, 'ws');

function factor(name) {
  const v = parseFloat(__ENV[name] || '1');
  return Number.isFinite(v) && v > 0 ? v : 1;
}

export const SCALE = factor('SCALE');
export const VU_SCALE = factor('VU_SCALE');

const UNITS = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/** '2m30s' -> 150000 */
export function toMs(d) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let m;
  while ((m = re.exec(d)) !== null) total += parseFloat(m[1]) * UNITS[m[2]];
  return total;
}

/** A duration scaled by SCALE, as k6 accepts it ('3000ms'). */
export function dur(d) {
  return `${Math.max(1000, Math.round(toMs(d) * SCALE))}ms`;
}

/** A VU count or rate scaled by VU_SCALE (0 stays 0, anything else at least 1). */
export function vus(n) {
  return n === 0 ? 0 : Math.max(1, Math.round(n * VU_SCALE));
}

/** Stages with scaled durations and targets. */
export function stages(list) {
  return list.map((s) => ({ duration: dur(s.duration), target: vus(s.target) }));
}

export const JSON_HEADERS = { 'Content-Type': 'application/json' };

export function authHeaders(token) {
  return { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
}

export function randomBetween(min, max) {
  return min + Math.random() * (max - min);
}
