// Memory-leak watch (seed: PRP-025 memory-leak-test.js): regular traffic, and the target's own
// memory read from /api/metrics (process.memory_usage_mb) into a Trend. Fails if it passes 512 MB.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';
import { BASE_URL, dur, vus } from './lib/scale.js';

const memoryUsage = new Trend('memory_usage_mb');

export const options = {
  scenarios: {
    leak: { executor: 'constant-vus', vus: vus(20), duration: dur('30m') },
  },
  thresholds: {
    memory_usage_mb: ['max<512'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const responses = [];
  for (let i = 0; i < 10; i++) {
    responses.push(http.get(`${BASE_URL}/api/products?page=${1 + ((__ITER * 10 + i) % 50)}`));
  }
  check(responses, { 'all products pages 200': (rs) => rs.every((r) => r.status === 200) });

  const metricsResponse = http.get(`${BASE_URL}/api/metrics`);
  if (check(metricsResponse, { 'metrics 200': (r) => r.status === 200 })) {
    const metrics = JSON.parse(metricsResponse.body);
    memoryUsage.add(metrics.process.memory_usage_mb);
  }
  sleep(1);
}
