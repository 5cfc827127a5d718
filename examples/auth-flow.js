// Authentication flow (seed: ServiceLink auth-flow.js): sign up, log in with the same account,
// create a job with the token. Signup and login pay the target's password-hash cost.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import { BASE_URL, JSON_HEADERS, authHeaders, stages } from './lib/scale.js';

const errorRate = new Rate('errors');
const loginDuration = new Trend('login_duration', true);

export const options = {
  stages: stages([
    { duration: '30s', target: 10 },
    { duration: '1m', target: 50 },
    { duration: '2m', target: 50 },
    { duration: '30s', target: 0 },
  ]),
  thresholds: {
    http_req_duration: ['p(95)<500'],
    'http_req_duration{name:login}': ['p(95)<300'],
    errors: ['rate<0.1'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const email = `user-${__VU}-${__ITER}-${Date.now()}@example.com`;
  const password = 'TestPass123!';
  const signupRes = http.post(`${BASE_URL}/auth/signup`,
    JSON.stringify({ email, password, name: `Test User ${__VU}`, role: 'customer' }),
    { headers: JSON_HEADERS, tags: { name: 'signup' } });
  check(signupRes, { 'signup successful': (r) => r.status === 201 }) || errorRate.add(1);
  sleep(1);

  const loginRes = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ email, password }),
    { headers: JSON_HEADERS, tags: { name: 'login' } });
  loginDuration.add(loginRes.timings.duration);
  const loginSuccess = check(loginRes, { 'login successful': (r) => r.status === 200 || r.status === 201 });
  if (!loginSuccess) {
    errorRate.add(1);
    return;
  }
  errorRate.add(0);
  const token = loginRes.json('access_token');

  const jobRes = http.post(`${BASE_URL}/jobs`,
    JSON.stringify({ title: `Load test job ${Date.now()}`, description: 'Testing load on job creation' }),
    { headers: authHeaders(token), tags: { name: 'create_job' } });
  check(jobRes, { 'job created': (r) => r.status === 201 }) || errorRate.add(1);
  sleep(2);
}
