// Load test (seed: Autolytiq "Load Test"): ramp to 100 VUs over 4 minutes, hold 5 minutes,
// browsing products, searching providers and checking the session, with a think time of 1 s.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { BASE_URL, authHeaders, stages } from './lib/scale.js';

export const options = {
  stages: stages([
    { duration: '1m', target: 50 },
    { duration: '3m', target: 100 },
    { duration: '5m', target: 100 },
    { duration: '1m', target: 0 },
  ]),
  thresholds: {
    http_req_duration: ['p(95)<500', 'p(99)<1000'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export function setup() {
  const r = http.post(`${BASE_URL}/auth/login`,
    JSON.stringify({ email: __ENV.TEST_USERNAME || 'loadtest@example.com', password: __ENV.TEST_PASSWORD || 'LoadTest123!' }));
  check(r, { 'setup login 200': (res) => res.status === 200 });
  return { token: r.json('access_token') };
}

export default function (data) {
  const params = { headers: authHeaders(data.token) };
  group('browse', () => {
    const page = 1 + Math.floor(Math.random() * 50);
    const list = http.get(`${BASE_URL}/api/products?page=${page}&limit=20`, { tags: { name: 'products' } });
    check(list, { 'products page': (r) => r.status === 200 && r.json('data.#') === 20 });
    const id = list.json('data.0.id');
    check(http.get(`${BASE_URL}/api/products/${id}`, { tags: { name: 'product' } }), {
      'product detail': (r) => r.status === 200 && r.json('id') === id,
    });
  });
  group('providers', () => {
    check(http.get(`${BASE_URL}/providers/search?q=plumbing`, { tags: { name: 'providers' } }), {
      'providers found': (r) => r.status === 200 && r.json('total') > 0,
    });
  });
  group('session', () => {
    check(http.get(`${BASE_URL}/auth/me`, params), { 'session valid': (r) => r.status === 200 });
  });
  sleep(1);
}
