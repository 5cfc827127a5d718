// Breakpoint test (seed: PRP-025 "Breaking Point Test"): climb by 1000 VUs every 5 minutes up
// to 5000 and see where it breaks. Aborts early once half the requests fail or p95 passes 3 s.
// On a small machine run it with VU_SCALE=0.05.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { BASE_URL, stages } from './lib/scale.js';

export const options = {
  stages: stages([
    { duration: '5m', target: 1000 },
    { duration: '5m', target: 2000 },
    { duration: '5m', target: 3000 },
    { duration: '5m', target: 4000 },
    { duration: '5m', target: 5000 },
  ]),
  thresholds: {
    http_req_failed: [{ threshold: 'rate<0.5', abortOnFail: true, delayAbortEval: '10s' }],
    http_req_duration: [{ threshold: 'p(95)<3000', abortOnFail: true, delayAbortEval: '10s' }],
  },
};

export default function () {
  const res = http.get(`${BASE_URL}/api/products/search?q=${['lamp', 'drone', 'eco', 'smart'][__ITER % 4]}`);
  check(res, { 'search 200': (r) => r.status === 200 });
  sleep(1);
}
