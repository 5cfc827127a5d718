// Spike test (seed: PRP-025 "Sudden Traffic Spike"): 100 VUs, a sudden jump to 2000, back to 100.
// On a small machine run it with VU_SCALE=0.1.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { BASE_URL, stages } from './lib/scale.js';

export const options = {
  stages: stages([
    { duration: '10s', target: 100 },
    { duration: '1m', target: 100 },
    { duration: '10s', target: 2000 },
    { duration: '3m', target: 2000 },
    { duration: '10s', target: 100 },
    { duration: '3m', target: 100 },
    { duration: '10s', target: 0 },
  ]),
  thresholds: {
    http_req_duration: ['p(95)<2000'],
    http_req_failed: ['rate<0.05'],
  },
};

export default function () {
  const res = http.get(`${BASE_URL}/api/products?page=${1 + Math.floor(Math.random() * 50)}`);
  check(res, { 'products 200': (r) => r.status === 200 });
  check(http.get(`${BASE_URL}/health`), { 'healthy': (r) => r.status === 200 && r.json('status') === 'ok' });
  sleep(1);
}
