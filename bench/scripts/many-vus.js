// Benchmark case 2: many VUs, each doing http.get + sleep(1) (ideal rate = VUs per second).
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  vus: Number(__ENV.VUS || 1000),
  duration: __ENV.DURATION || '10s',
};

const URL = `${__ENV.BASE_URL}/`;

export default function () {
  http.get(URL);
  sleep(1);
}
