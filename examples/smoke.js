// Smoke test (seed: YWMESSAGING "Smoke Test"): 1 VU, 5 iterations over every critical endpoint:
// register, login, /auth/me, send a message, list conversations, one conversation, analytics.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { BASE_URL, JSON_HEADERS, authHeaders } from './lib/scale.js';

const authSuccesses = new Counter('auth_successes');
const authFailures = new Counter('auth_failures');
const messageSendDuration = new Trend('message_send_duration', true);

export const options = {
  vus: 1,
  iterations: 5,
  thresholds: {
    http_req_duration: ['p(95)<1000'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate==1'],
  },
};

export default function () {
  const email = `smoke-${__VU}-${__ITER}-${Date.now()}@example.com`;
  const password = 'SmokePass123!';
  const signup = http.post(`${BASE_URL}/auth/signup`,
    JSON.stringify({ email, password, name: 'Smoke Tester', role: 'customer' }), { headers: JSON_HEADERS });
  check(signup, { 'register 201': (r) => r.status === 201 });

  const login = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ email, password }), { headers: JSON_HEADERS });
  const ok = check(login, {
    'login 200': (r) => r.status === 200,
    'login has access_token': (r) => typeof r.json('access_token') === 'string',
  });
  if (!ok) {
    authFailures.add(1);
    return;
  }
  authSuccesses.add(1);
  const params = { headers: authHeaders(login.json('access_token')) };

  check(http.get(`${BASE_URL}/auth/me`, params), { 'me is the new user': (r) => r.json('email') === email });

  const sent = http.post(`${BASE_URL}/messages/send`, JSON.stringify({ content: 'Smoke test message' }), params);
  messageSendDuration.add(sent.timings.duration);
  check(sent, { 'message sent': (r) => r.status === 200 && r.json('id') > 0 });

  const list = http.get(`${BASE_URL}/messages/conversations`, params);
  check(list, { 'conversations listed': (r) => r.status === 200 && r.json('data.#') > 0 });

  const id = list.json('data.0.id');
  check(http.get(`${BASE_URL}/messages/conversations/${id}`, params), {
    'conversation has messages': (r) => r.status === 200 && r.json('messages.#') > 0,
  });

  check(http.get(`${BASE_URL}/analytics/summary`, params), {
    'analytics 200': (r) => r.status === 200 && r.json('totalMessages') > 0,
  });
  sleep(0.5);
}
