// Benchmark cases 3 and 4: constant-arrival-rate against `/` or `/delay/N`.
import http from 'k6/http';

export const options = {
  scenarios: {
    open: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 5000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '20s',
      preAllocatedVUs: Number(__ENV.PRE_VUS || 200),
      maxVUs: Number(__ENV.MAX_VUS || 2000),
    },
  },
};

const URL = `${__ENV.BASE_URL}${__ENV.PATH_ || '/'}`;

export default function () {
  http.get(URL);
}
