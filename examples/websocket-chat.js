// WebSocket chat (seed: ServiceLink realtime-flow.js): 100 concurrent connections for 10
// minutes; each joins a room, types, chats every second and counts what the room sends back.
// Expected connection success > 95%.
import ws from 'k6/ws';
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { WS_URL, dur, toMs, SCALE, vus } from './lib/scale.js';

const connected = new Rate('ws_connection_success');
const chatReceived = new Counter('chat_messages_received');
const ackLatency = new Trend('chat_ack_latency', true);

const SESSION_MS = Math.max(2000, Math.round(toMs('30s') * SCALE));

export const options = {
  scenarios: {
    chat: { executor: 'constant-vus', vus: vus(100), duration: dur('10m') },
  },
  thresholds: {
    ws_connection_success: ['rate>0.95'],
    chat_ack_latency: ['p(95)<200'],
    chat_messages_received: ['count>0'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const room = `room-${__VU % 10}`;
  const user = `user-${__VU}`;
  const sentAt = {};
  let seq = 0;
  const res = ws.connect(`${WS_URL}/ws/chat?room=${room}`, { tags: { room } }, (socket) => {
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'join', room, user }));
      socket.setInterval(() => {
        socket.send(JSON.stringify({ type: 'typing' }));
        seq += 1;
        sentAt[seq] = Date.now();
        socket.send(JSON.stringify({ type: 'chat', text: `hello #${seq} from ${user}` }));
      }, 1000);
      socket.setTimeout(() => socket.close(), SESSION_MS);
    });
    let acks = 0;
    socket.on('message', (raw) => {
      const msg = JSON.parse(raw);
      if (msg.type === 'chat') chatReceived.add(1);
      if (msg.type === 'ack' && msg.ref === 'chat') {
        acks += 1;
        if (sentAt[acks] !== undefined) ackLatency.add(Date.now() - sentAt[acks]);
      }
    });
    socket.on('error', (e) => console.error(`ws error: ${e.error()}`));
  });
  connected.add(res && res.status === 101);
  check(res, { 'ws handshake 101': (r) => r && r.status === 101 });
}
