// Weighted API mix (seed: PRP-025 api-load-test.js): setup() logs in one account per tier; each
// iteration picks browse (40%), search (30%), order (20%) or report (10%) with the token of
// TIER (default professional; TIER=free shows the target's rate limiting at work).
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Rate } from 'k6/metrics';
import { BASE_URL, authHeaders, randomBetween, stages } from './lib/scale.js';
import { weightedRandom } from './lib/mix.js';

const errorRate = new Rate('errors');
const TIER = __ENV.TIER || 'professional';

export const options = {
  stages: stages([
    { duration: '2m', target: 100 },
    { duration: '5m', target: 100 },
    { duration: '2m', target: 0 },
  ]),
  thresholds: {
    'http_req_duration{name:products}': ['p(95)<200'],
    'http_req_duration{name:search}': ['p(95)<400'],
    'http_req_duration{name:order}': ['p(95)<500'],
    'http_req_duration{name:report}': ['p(95)<5000'],
    http_req_failed: ['rate<0.1'],
    errors: ['rate<0.05'],
  },
};

function loginUser(email) {
  const r = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ email, password: 'password123' }));
  check(r, { 'tier login 200': (res) => res.status === 200 });
  return r.json('access_token');
}

export function setup() {
  return {
    tokens: {
      free: loginUser('free-tier@example.com'),
      starter: loginUser('starter-tier@example.com'),
      professional: loginUser('pro-tier@example.com'),
    },
  };
}

function browseProducts(params) {
  const page = 1 + Math.floor(Math.random() * 50);
  const r = http.get(`${BASE_URL}/api/products?page=${page}&limit=20`, Object.assign({ tags: { name: 'products' } }, params));
  return check(r, { 'browse ok': (res) => res.status === 200 && res.json('total') > 0 });
}

function searchProducts(params) {
  const q = ['lamp', 'smart', 'eco', 'speaker', 'drone'][Math.floor(Math.random() * 5)];
  const r = http.get(`${BASE_URL}/api/products/search?q=${q}&maxPrice=400`, Object.assign({ tags: { name: 'search' } }, params));
  return check(r, { 'search ok': (res) => res.status === 200 });
}

function createOrder(params) {
  const body = JSON.stringify({ items: [{ product_id: 1 + Math.floor(Math.random() * 1000), quantity: 1 }] });
  const r = http.post(`${BASE_URL}/api/orders`, body, Object.assign({ tags: { name: 'order' } }, params));
  return check(r, { 'order created': (res) => res.status === 201 });
}

function generateReport(params) {
  const r = http.get(`${BASE_URL}/api/reports/inventory`, Object.assign({ tags: { name: 'report' }, timeout: '30s' }, params));
  return check(r, { 'report ok': (res) => res.status === 200 && res.json('totalProducts') > 0 });
}

const scenarios = [
  { weight: 0.4, fn: browseProducts },
  { weight: 0.3, fn: searchProducts },
  { weight: 0.2, fn: createOrder },
  { weight: 0.1, fn: generateReport },
];

export default function (data) {
  const params = { headers: authHeaders(data.tokens[TIER]) };
  errorRate.add(!weightedRandom(scenarios).fn(params));
  sleep(randomBetween(1, 5));
}
