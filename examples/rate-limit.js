// Rate-limit validation (seed: PRP-025 rate-limit-test.js): one VU per tier bursts
// limit + 50 requests with its tenant token and checks that the excess is refused with 429,
// Retry-After and X-RateLimit-* headers. The limit is read from X-RateLimit-Limit, and since the
// target refills continuously, "accurate" allows for the refill during the burst.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, authHeaders, dur } from './lib/scale.js';

const rejected = new Counter('rate_limited_requests');

http.setResponseCallback(http.expectedStatuses(200, 429));

function tierScenario(tier, startTime) {
  return {
    executor: 'per-vu-iterations', vus: 1, iterations: 3, maxDuration: dur('2m'), startTime,
    env: { TIER: tier }, tags: { tier },
  };
}

export const options = {
  scenarios: {
    free: tierScenario('free', '0s'),
    starter: tierScenario('starter', '0s'),
    professional: tierScenario('professional', '0s'),
  },
  batch: 50,
  batchPerHost: 50,
  thresholds: {
    'checks{tier:free}': ['rate==1'],
    'checks{tier:starter}': ['rate==1'],
    'checks{tier:professional}': ['rate==1'],
    http_req_failed: ['rate<0.01'],
  },
};

export function setup() {
  const tokens = {};
  for (const tier of ['free', 'starter', 'professional']) {
    const r = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ email: `${tier}@example.com`, password: 'password123' }));
    check(r, { 'login 200': (res) => res.status === 200 });
    tokens[tier] = r.json('access_token');
  }
  return tokens;
}

export default function (tokens) {
  const tier = __ENV.TIER;
  const params = { headers: authHeaders(tokens[tier]), tags: { name: 'burst' } };
  const url = `${BASE_URL}/api/products?limit=1`;
  const first = http.get(url, params);
  const limit = Number(first.headers['X-Ratelimit-Limit']);
  check(first, { 'limit advertised': () => limit > 0 });
  if (!(limit > 0)) return;

  // Burst: the limit plus 50, as fast as possible (parallel batches of 50).
  const started = Date.now();
  const responses = [first];
  let left = limit + 50 - 1;
  while (left > 0) {
    const n = Math.min(left, 50);
    const batch = [];
    for (let i = 0; i < n; i++) batch.push(['GET', url, null, params]);
    responses.push(...http.batch(batch));
    left -= n;
  }
  const seconds = (Date.now() - started) / 1000;

  const limited = responses.filter((r) => r.status === 429);
  rejected.add(limited.length);
  const refill = Math.ceil(limit * seconds) + 2;
  check(limited.length, {
    'rate limit enforced': (count) => count > 0,
    'rate limit accurate': (count) => count <= 50 && count >= 50 - refill,
  });
  check(limited[0], {
    '429 has Retry-After': (r) => r !== undefined && Number(r.headers['Retry-After']) >= 1,
    '429 has X-RateLimit-Remaining 0': (r) => r !== undefined && r.headers['X-Ratelimit-Remaining'] === '0',
  });
  sleep(1.5); // let the bucket refill before the next burst
}
