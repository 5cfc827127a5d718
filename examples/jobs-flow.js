// Job creation flow (seed: ServiceLink jobs-flow.js): a customer posts a job, a provider quotes
// on it, the customer accepts the quote and pages through their jobs. 50 VUs for 10 minutes.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';
import { BASE_URL, authHeaders, dur, vus } from './lib/scale.js';

const acceptDuration = new Trend('quote_accept_duration', true);

export const options = {
  scenarios: {
    jobs: { executor: 'constant-vus', vus: vus(50), duration: dur('10m') },
  },
  thresholds: {
    http_req_duration: ['p(95)<500'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

function login(email) {
  const r = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ email, password: 'password123' }));
  check(r, { 'login 200': (res) => res.status === 200 });
  return r.json('access_token');
}

export function setup() {
  // Customers are user1..50, providers user51..100 (the target's seeded accounts).
  const customers = [];
  const providers = [];
  for (let i = 1; i <= 50; i++) {
    customers.push(login(`user${i}@example.com`));
    providers.push(login(`user${50 + i}@example.com`));
  }
  return { customers, providers };
}

export default function (data) {
  const customer = authHeaders(data.customers[(__VU - 1) % data.customers.length]);
  const provider = authHeaders(data.providers[(__VU - 1) % data.providers.length]);

  const job = http.post(`${BASE_URL}/jobs`,
    JSON.stringify({ title: `Fix the sink #${__ITER}`, description: 'Kitchen sink leaks', category: 'plumbing', budget: 150 }),
    { headers: customer, tags: { name: 'create_job' } });
  if (!check(job, { 'job created': (r) => r.status === 201 })) return;
  const jobId = job.json('id');

  const quote = http.post(`${BASE_URL}/jobs/${jobId}/quotes`, JSON.stringify({ amount: 120, message: 'Can come tomorrow' }),
    { headers: provider, tags: { name: 'create_quote' } });
  if (!check(quote, { 'quote created': (r) => r.status === 201 })) return;

  const accept = http.post(`${BASE_URL}/jobs/${jobId}/quotes/${quote.json('id')}/accept`, null,
    { headers: customer, tags: { name: 'accept_quote' } });
  acceptDuration.add(accept.timings.duration);
  check(accept, { 'quote accepted': (r) => r.status === 200 && r.json('job.status') === 'assigned' });

  const mine = http.get(`${BASE_URL}/jobs/mine?page=1&limit=10`, { headers: customer, tags: { name: 'my_jobs' } });
  check(mine, { 'my jobs listed': (r) => r.status === 200 && r.json('total') > 0 });
  sleep(1);
}
