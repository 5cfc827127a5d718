// Database load mix (seed: PRP-025 database-load.js): simple query, aggregation, heavy join and
// bulk write, picked at random.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { BASE_URL, JSON_HEADERS, stages } from './lib/scale.js';

export const options = {
  stages: stages([
    { duration: '1m', target: 50 },
    { duration: '3m', target: 50 },
    { duration: '1m', target: 0 },
  ]),
  thresholds: {
    http_req_duration: ['p(95)<500'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

function generateBulkAdjustments(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ productId: 1 + Math.floor(Math.random() * 1000), delta: Math.floor(Math.random() * 11) - 5 });
  }
  return out;
}

const scenarios = [
  // Simple query
  () => http.get(`${BASE_URL}/api/products?limit=10`, { tags: { name: 'simple' } }),
  // Complex aggregation
  () => http.get(`${BASE_URL}/api/analytics/inventory-summary`, { tags: { name: 'aggregation' } }),
  // Heavy join
  () => http.get(`${BASE_URL}/api/reports/order-details?include=all`, { tags: { name: 'join' } }),
  // Write operation
  () => http.post(`${BASE_URL}/api/inventory/adjustments`,
    JSON.stringify({ adjustments: generateBulkAdjustments(100) }), { headers: JSON_HEADERS, tags: { name: 'write' } }),
];

export default function () {
  const scenario = scenarios[Math.floor(Math.random() * scenarios.length)];
  const response = scenario();
  check(response, {
    'status is 200': (r) => r.status === 200,
    'response time OK': (r) => r.timings.duration < 1000,
  });
  sleep(0.5);
}
