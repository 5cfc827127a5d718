// Benchmark case 1: 50 VUs, http.get + check, as fast as they go.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  vus: Number(__ENV.VUS || 50),
  duration: __ENV.DURATION || '10s',
};

const URL = `${__ENV.BASE_URL}/`;

export default function () {
  const res = http.get(URL);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
