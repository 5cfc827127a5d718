// Multi-tenant load (seed: PRP-025 multi-tenant-load.js): one scenario per tier. Each tenant is
// one bearer token (the target rate-limits per token): the 50 free VUs share one tenant and get
// throttled (429 is expected for them), starter tenants hold 40 VUs and professional ones 100,
// under their limits (50 and 200 req/s by default): they must not notice the free tenant.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Rate } from 'k6/metrics';
import { BASE_URL, authHeaders, dur, vus } from './lib/scale.js';

const throttled = new Rate('throttled');

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 429));

export const options = {
  scenarios: {
    free_tier: {
      executor: 'constant-vus', vus: vus(50), duration: dur('10m'),
      env: { TIER: 'free' }, tags: { tier: 'free' },
    },
    starter_tier: {
      executor: 'constant-vus', vus: vus(200), duration: dur('10m'),
      env: { TIER: 'starter' }, tags: { tier: 'starter' },
    },
    professional_tier: {
      executor: 'ramping-vus', startVUs: 0,
      stages: [
        { duration: dur('5m'), target: vus(500) },
        { duration: dur('10m'), target: vus(500) },
        { duration: dur('5m'), target: 0 },
      ],
      env: { TIER: 'professional' }, tags: { tier: 'professional' },
    },
  },
  thresholds: {
    'http_req_duration{tier:professional}': ['p(95)<500'],
    'throttled{tier:professional}': ['rate<0.01'],
    'throttled{tier:starter}': ['rate<0.05'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

function loginUser(email) {
  const r = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ email, password: 'password123' }));
  check(r, { 'tenant login 200': (res) => res.status === 200 });
  return r.json('access_token');
}

const TENANTS = {
  free: 1,
  starter: Math.ceil(vus(200) / 40),
  professional: Math.ceil(vus(500) / 100),
};

export function setup() {
  const tokens = {};
  for (const tier of Object.keys(TENANTS)) {
    tokens[tier] = [];
    for (let i = 0; i < TENANTS[tier]; i++) tokens[tier].push(loginUser(`${tier}@example.com`));
  }
  return tokens;
}

export default function (tokens) {
  const tier = __ENV.TIER;
  const token = tokens[tier][__VU % tokens[tier].length];
  const res = http.get(`${BASE_URL}/api/products?page=${1 + (__ITER % 50)}&limit=20`, { headers: authHeaders(token) });
  throttled.add(res.status === 429);
  check(res, {
    'served or throttled': (r) => r.status === 200 || r.status === 429,
    'throttling says when to retry': (r) => r.status !== 429 || Number(r.headers['Retry-After']) >= 1,
  });
  sleep(1);
}
