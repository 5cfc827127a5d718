// Provider search (seed: ServiceLink search-flow.js): 200 VUs searching providers by text and
// by location for 5 minutes. Expected p95 < 400 ms.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { BASE_URL, dur, vus } from './lib/scale.js';

const TERMS = ['plumbing', 'electrical', 'cleaning', 'painting', 'garcia', 'austin'];
const PLACES = [[40.7128, -74.006], [41.8781, -87.6298], [30.2672, -97.7431], [47.6062, -122.3321]];

export const options = {
  scenarios: {
    search: { executor: 'constant-vus', vus: vus(200), duration: dur('5m') },
  },
  thresholds: {
    'http_req_duration{name:search}': ['p(95)<400'],
    'http_req_duration{name:near}': ['p(95)<400'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const q = TERMS[Math.floor(Math.random() * TERMS.length)];
  check(http.get(`${BASE_URL}/providers/search?q=${q}`, { tags: { name: 'search' } }), {
    'search found providers': (r) => r.status === 200 && r.json('total') > 0,
  });
  const [lat, lng] = PLACES[Math.floor(Math.random() * PLACES.length)];
  check(http.get(`${BASE_URL}/providers/near?lat=${lat}&lng=${lng}&radius=25`, { tags: { name: 'near' } }), {
    'providers nearby': (r) => r.status === 200 && r.json('data.#') > 0,
  });
  sleep(1);
}
