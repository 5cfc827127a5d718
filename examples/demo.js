// The script `stampede demo` runs against the built-in target: ~15 s, up to 20 VUs, a mix of
// catalogue browsing, search, orders and a slow dependency, with custom metrics and thresholds.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');

const orderDuration = new Trend('order_duration', true);
const orderSuccess = new Rate('order_success');
const ordersCreated = new Counter('orders_created');

export const options = {
  stages: [
    { duration: '4s', target: 20 },
    { duration: '8s', target: 20 },
    { duration: '3s', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<500'],
    'http_req_duration{name:products}': ['p(95)<200'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    order_success: ['rate>0.99'],
    order_duration: ['p(95)<300'],
  },
};

export default function () {
  group('browse', () => {
    const page = 1 + Math.floor(Math.random() * 50);
    const res = http.get(`${BASE_URL}/api/products?page=${page}&limit=20`, { tags: { name: 'products' } });
    check(res, {
      'products 200': (r) => r.status === 200,
      'a full page': (r) => r.json('data.#') === 20,
    });
  });

  group('search', () => {
    const q = ['lamp', 'smart', 'eco', 'drone'][__ITER % 4];
    const res = http.get(`${BASE_URL}/api/products/search?q=${q}`, { tags: { name: 'search' } });
    check(res, { 'search 200': (r) => r.status === 200 && r.json('total') > 0 });
  });

  group('order', () => {
    const productId = 1 + Math.floor(Math.random() * 1000);
    const res = http.post(`${BASE_URL}/api/orders`, JSON.stringify({ productId, quantity: 1 }), {
      headers: { 'Content-Type': 'application/json' },
      tags: { name: 'order' },
    });
    const ok = check(res, { 'order created': (r) => r.status === 201 && r.json('id') > 0 });
    orderDuration.add(res.timings.duration);
    orderSuccess.add(ok);
    if (ok) ordersCreated.add(1);
  });

  group('slow dependency', () => {
    const res = http.get(`${BASE_URL}/delay/50`, { tags: { name: 'delay' } });
    check(res, { 'delay 200': (r) => r.status === 200 });
  });

  sleep(0.5 + Math.random() * 0.5);
}
