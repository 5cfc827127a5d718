// Benchmark case 6: a realistic script, the shape of the users' own guides (shared/seeds: the
// ServiceLink auth flow, PRP-025's weighted API mix, the custom-metrics tables) and of
// examples/api-mix.js: setup() logs in once, then every iteration picks a weighted request with
// a `name` tag, parses the JSON answer, checks it and feeds custom metrics. No sleep, so the
// script is CPU-bound: the benchmark measures the cost of running the script, not of waiting.
//
// Uses the demo target's `loadtest@example.com` account (no tier, so /api/* is never rate
// limited) and only endpoints that do not grow the target's memory. Knobs: BASE_URL, VUS,
// DURATION.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { weightedRandom } from '../../examples/lib/mix.js';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const PRODUCT_COUNT = 1000;
const PAGE_SIZE = 10;
const SEARCH_TERMS = ['lamp', 'smart', 'eco', 'speaker', 'drone', 'kettle', 'books', 'garden'];

const errors = new Rate('errors');
const productsDuration = new Trend('products_duration', true);
const searchDuration = new Trend('search_duration', true);
const orderDuration = new Trend('order_duration', true);
const basketValue = new Trend('basket_value');
const ordersCreated = new Counter('orders_created');

export const options = {
  vus: Number(__ENV.VUS || 200),
  duration: __ENV.DURATION || '10s',
  thresholds: {
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

function randomProductId() {
  return 1 + Math.floor(Math.random() * PRODUCT_COUNT);
}

export function setup() {
  const res = http.post(`${BASE_URL}/auth/login`,
    JSON.stringify({ email: 'loadtest@example.com', password: 'LoadTest123!' }),
    { headers: { 'Content-Type': 'application/json' }, tags: { name: 'login' } });
  check(res, {
    'login 200': (r) => r.status === 200,
    'login has access_token': (r) => typeof r.json('access_token') === 'string',
  });
  return { token: res.json('access_token') };
}

function browseProducts(params) {
  const page = 1 + Math.floor(Math.random() * (PRODUCT_COUNT / PAGE_SIZE));
  const res = http.get(`${BASE_URL}/api/products?page=${page}&limit=${PAGE_SIZE}`,
    Object.assign({ tags: { name: 'products' } }, params));
  productsDuration.add(res.timings.duration);
  const body = res.json();
  return check(res, {
    'products 200': (r) => r.status === 200,
    'products page is full': () => body.data.length === PAGE_SIZE && body.page === page,
    'products have prices': () => body.data.every((p) => p.price > 0 && typeof p.name === 'string'),
  });
}

function productDetail(params) {
  const id = randomProductId();
  const res = http.get(`${BASE_URL}/api/products/${id}`, Object.assign({ tags: { name: 'product' } }, params));
  return check(res, {
    'product 200': (r) => r.status === 200,
    'product is the one asked for': (r) => r.json('id') === id,
  });
}

function searchProducts(params) {
  const q = pick(SEARCH_TERMS);
  const maxPrice = 50 + Math.floor(Math.random() * 450);
  const res = http.get(`${BASE_URL}/api/products/search?q=${q}&maxPrice=${maxPrice}`,
    Object.assign({ tags: { name: 'search' } }, params));
  searchDuration.add(res.timings.duration);
  const body = res.json();
  return check(res, {
    'search 200': (r) => r.status === 200,
    'search echoes the query': () => body.query === q,
    'search respects maxPrice': () => body.data.every((p) => p.price <= maxPrice),
  });
}

function whoAmI(params) {
  const res = http.get(`${BASE_URL}/auth/me`, Object.assign({ tags: { name: 'me' } }, params));
  return check(res, { 'me is the load-test user': (r) => r.status === 200 && r.json('email') === 'loadtest@example.com' });
}

function createOrder(params) {
  const items = [];
  const lines = 1 + Math.floor(Math.random() * 3);
  for (let i = 0; i < lines; i++) {
    items.push({ productId: randomProductId(), quantity: 1 + Math.floor(Math.random() * 3) });
  }
  const res = http.post(`${BASE_URL}/api/orders`, JSON.stringify({ items }),
    Object.assign({ tags: { name: 'order' } }, params));
  orderDuration.add(res.timings.duration);
  const ok = check(res, {
    'order 201': (r) => r.status === 201,
    'order confirmed with every line': (r) => r.json('status') === 'confirmed' && r.json('items').length === lines,
  });
  if (ok) {
    ordersCreated.add(1);
    basketValue.add(res.json('total'));
  }
  return ok;
}

const ACTIONS = [
  { weight: 0.35, fn: browseProducts },
  { weight: 0.25, fn: productDetail },
  { weight: 0.2, fn: searchProducts },
  { weight: 0.1, fn: whoAmI },
  { weight: 0.1, fn: createOrder },
];

export default function (data) {
  const params = {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${data.token}` },
  };
  errors.add(!weightedRandom(ACTIONS).fn(params));
}
