// Flash sale (seed: PRP-025 flash-sale.js): 90% of arrivals try to buy the same limited-stock
// product, 10% browse. Sold-out answers (409) are expected, not failures. teardown() checks the
// target never sold more than its stock.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, JSON_HEADERS, dur, vus } from './lib/scale.js';

const PRODUCT = 'flash-sale-product-001';
const sold = new Counter('flash_orders_created');
const soldOut = new Counter('flash_orders_sold_out');

http.setResponseCallback(http.expectedStatuses(200, 201, 409));

export const options = {
  scenarios: {
    rush: {
      executor: 'ramping-arrival-rate',
      startRate: vus(50),
      timeUnit: '1s',
      preAllocatedVUs: vus(100),
      maxVUs: vus(500),
      stages: [
        { duration: dur('30s'), target: vus(500) },
        { duration: dur('1m'), target: vus(500) },
        { duration: dur('10s'), target: 0 },
      ],
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:order}': ['p(95)<500'],
    checks: ['rate==1'],
  },
};

export function setup() {
  // Restock the target's flash sale so every run starts fresh (a stampede-target hook).
  http.post(`${BASE_URL}/_target/reset?what=stock`);
  const r = http.get(`${BASE_URL}/api/flash-sale`);
  check(r, { 'flash sale open': (res) => res.status === 200 && res.json('stock') > 0 });
  return { stock: r.json('initialStock') };
}

export default function () {
  if (Math.random() < 0.9) {
    const res = http.post(`${BASE_URL}/api/orders`,
      JSON.stringify({ items: [{ product_id: PRODUCT, quantity: 1 }] }),
      { headers: JSON_HEADERS, tags: { name: 'order' } });
    if (res.status === 201) sold.add(1);
    if (res.status === 409) soldOut.add(1);
    check(res, { 'order created or sold out': (r) => r.status === 201 || r.status === 409 });
  } else {
    check(http.get(`${BASE_URL}/api/products?limit=10`, { tags: { name: 'browse' } }), {
      'browse ok': (r) => r.status === 200,
    });
  }
}

export function teardown(data) {
  const r = http.get(`${BASE_URL}/api/flash-sale`);
  check(r, {
    'never oversold': (res) => res.json('sold') <= data.stock && res.json('stock') >= 0,
    'sold out': (res) => res.json('stock') === 0,
  });
}
