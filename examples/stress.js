// Stress test (seed: PRP-025 "Gradual Load Increase"): steps of 100 VUs up to 400, five minutes
// each, then a 10 minute recovery, on a realistic read/write mix.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { BASE_URL, JSON_HEADERS, stages } from './lib/scale.js';

export const options = {
  stages: stages([
    { duration: '2m', target: 100 },
    { duration: '5m', target: 100 },
    { duration: '2m', target: 200 },
    { duration: '5m', target: 200 },
    { duration: '2m', target: 300 },
    { duration: '5m', target: 300 },
    { duration: '2m', target: 400 },
    { duration: '5m', target: 400 },
    { duration: '10m', target: 0 },
  ]),
  thresholds: {
    http_req_duration: ['p(95)<1000'],
    http_req_failed: ['rate<0.1'],
  },
};

export default function () {
  const roll = Math.random();
  let res;
  if (roll < 0.5) {
    res = http.get(`${BASE_URL}/api/products?page=${1 + Math.floor(Math.random() * 50)}&limit=20`);
  } else if (roll < 0.8) {
    res = http.get(`${BASE_URL}/api/products/search?q=smart`);
  } else {
    const productId = 1 + Math.floor(Math.random() * 1000);
    res = http.post(`${BASE_URL}/api/orders`, JSON.stringify({ productId, quantity: 1 }), { headers: JSON_HEADERS });
  }
  check(res, { 'status 2xx': (r) => r.status >= 200 && r.status < 300 });
  sleep(1);
}
