// Soak test (seed: PRP-025 "Extended Duration Test"): 400 VUs for 4 hours, watching the
// target's own memory through /api/metrics on the side. Try SCALE=0.01 for a 2.5 minute run.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';
import { BASE_URL, dur, vus } from './lib/scale.js';

const memory = new Trend('memory_usage_mb');

export const options = {
  scenarios: {
    soak: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: dur('5m'), target: vus(400) },
        { duration: dur('4h'), target: vus(400) },
        { duration: dur('5m'), target: 0 },
      ],
      exec: 'traffic',
    },
    memory: {
      executor: 'constant-arrival-rate',
      rate: 1,
      timeUnit: '5s',
      duration: dur('4h10m'),
      preAllocatedVUs: 1,
      exec: 'watchMemory',
    },
  },
  thresholds: {
    http_req_duration: ['p(95)<500'],
    http_req_failed: ['rate<0.01'],
    memory_usage_mb: ['max<1024'],
  },
};

export function traffic() {
  const res = http.get(`${BASE_URL}/api/products?page=${1 + Math.floor(Math.random() * 50)}&limit=20`);
  check(res, { 'products 200': (r) => r.status === 200 });
  sleep(1);
}

export function watchMemory() {
  const res = http.get(`${BASE_URL}/api/metrics`);
  if (check(res, { 'metrics 200': (r) => r.status === 200 })) {
    memory.add(res.json('process.memory_usage_mb'));
  }
}
