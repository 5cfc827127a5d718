// Conversation reply flow (seed: YWMESSAGING "Conversation Reply Test"): 0 -> 20 VUs over 15 s,
// 30 s sustained: list conversations, open one, reply, mark it read.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';
import { BASE_URL, authHeaders, stages } from './lib/scale.js';

const fetchDuration = new Trend('conversation_fetch_duration', true);
const sendDuration = new Trend('message_send_duration', true);

export const options = {
  stages: stages([
    { duration: '15s', target: 20 },
    { duration: '30s', target: 20 },
    { duration: '10s', target: 0 },
  ]),
  thresholds: {
    conversation_fetch_duration: ['p(95)<1000'],
    message_send_duration: ['p(95)<2000'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export function setup() {
  const tokens = [];
  for (let i = 1; i <= 20; i++) {
    const r = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ email: `user${i}@example.com`, password: 'password123' }));
    check(r, { 'login 200': (res) => res.status === 200 });
    tokens.push(r.json('access_token'));
  }
  return { tokens };
}

export default function (data) {
  const params = { headers: authHeaders(data.tokens[(__VU - 1) % data.tokens.length]) };
  const list = http.get(`${BASE_URL}/messages/conversations?page=1&limit=20`, params);
  fetchDuration.add(list.timings.duration);
  check(list, { 'conversations listed': (r) => r.status === 200 && r.json('data.#') > 0 });
  const id = list.json(`data.${Math.floor(Math.random() * 20)}.id`);

  const one = http.get(`${BASE_URL}/messages/conversations/${id}`, params);
  check(one, { 'conversation loaded': (r) => r.status === 200 && r.json('id') === id });

  const reply = http.post(`${BASE_URL}/messages/conversations/${id}/reply`,
    JSON.stringify({ content: `Thanks! (VU ${__VU}, iteration ${__ITER})` }), params);
  sendDuration.add(reply.timings.duration);
  check(reply, { 'reply sent': (r) => r.status === 201 && r.json('conversationId') === id });

  check(http.post(`${BASE_URL}/messages/conversations/${id}/read`, null, params), {
    'marked read': (r) => r.status === 200 && r.json('unreadCount') === 0,
  });
  sleep(1);
}
