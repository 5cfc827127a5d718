//! WebSocket chat: `GET /ws/chat?room=X&user=Y`.
//!
//! Clients send JSON text frames with a `type`:
//! - `{"type":"join","room":"r","user":"u"}`: (re)joins a room; everyone in it, the sender
//!   included, gets `{"type":"join",room,user,ts}`; the sender also gets
//!   `{"type":"ack","ref":"join",room,user,members}`.
//! - `{"type":"chat","text":"hi"}`: everyone in the room, the sender included, gets
//!   `{"type":"chat",id,room,user,text,ts}`; the sender also gets `{"type":"ack","ref":"chat",id}`.
//! - `{"type":"typing"}`: the others in the room get `{"type":"typing",room,user,isTyping}`.
//! - `{"type":"ping"}`: the sender gets `{"type":"pong",ts}`.
//!
//! Anything else gets `{"type":"error","error":...}`; binary frames are echoed; WebSocket pings
//! are answered with pongs. Leaving (closing) tells the room `{"type":"leave",room,user}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use http::Uri;
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::app::AppState;
use crate::error::now_millis;
use crate::helpers::query_map;

const ROOM_CAPACITY: usize = 1024;
const MAX_MESSAGE: usize = 1 << 20;
const MAX_NAME: usize = 100;

/// A frame for a room.
pub(crate) struct Event {
    from: u64,
    skip_sender: bool,
    text: Utf8Bytes,
}

/// The chat rooms: one broadcast channel each, dropped when its last member leaves.
#[derive(Default)]
pub(crate) struct Rooms {
    map: Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>,
    next_conn: AtomicU64,
    next_message: AtomicU64,
}

type Room = (
    broadcast::Sender<Arc<Event>>,
    broadcast::Receiver<Arc<Event>>,
);

impl Rooms {
    fn join(&self, room: &str) -> Room {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = map
            .entry(room.to_string())
            .or_insert_with(|| broadcast::channel(ROOM_CAPACITY).0);
        (tx.clone(), tx.subscribe())
    }

    /// Forgets `room` if nobody listens any more (call after dropping the receiver).
    fn cleanup(&self, room: &str) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(room).is_some_and(|tx| tx.receiver_count() == 0) {
            map.remove(room);
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_NAME).collect()
}

/// `GET /ws/chat?room=&user=`: upgrades to the chat protocol above.
pub(crate) async fn chat(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let q = query_map(&uri);
    let room = clip(q.get("room").map_or("lobby", String::as_str));
    let user = q.get("user").map(|u| clip(u));
    ws.max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session(socket, state, room, user))
}

struct Session {
    conn: u64,
    room: String,
    user: String,
    tx: broadcast::Sender<Arc<Event>>,
    rx: broadcast::Receiver<Arc<Event>>,
}

impl Session {
    fn publish(&self, skip_sender: bool, v: &Value) {
        let event = Event {
            from: self.conn,
            skip_sender,
            text: v.to_string().into(),
        };
        // No receivers is fine: the room may be empty but for this session.
        let _ = self.tx.send(Arc::new(event));
    }
}

async fn session(socket: WebSocket, state: Arc<AppState>, room: String, user: Option<String>) {
    let rooms = &state.rooms;
    let conn = rooms.next_conn.fetch_add(1, Relaxed) + 1;
    state.stats.ws_connections.fetch_add(1, Relaxed);
    let (tx, rx) = rooms.join(&room);
    let user = user.unwrap_or_else(|| format!("guest-{conn}"));
    let mut s = Session {
        conn,
        room,
        user,
        tx,
        rx,
    };
    let mut shutdown = state.shutdown.subscribe();
    let (mut sink, mut stream) = socket.split();
    'session: loop {
        let out: Vec<Message> = tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    state.stats.ws_received.fetch_add(1, Relaxed);
                    handle(&state, &mut s, t.as_str()).into_iter().map(|v| Message::text(v.to_string())).collect()
                }
                Some(Ok(Message::Binary(b))) => {
                    state.stats.ws_received.fetch_add(1, Relaxed);
                    vec![Message::Binary(b)]
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Vec::new(),
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            ev = s.rx.recv() => match ev {
                Ok(ev) if ev.skip_sender && ev.from == s.conn => Vec::new(),
                Ok(ev) => vec![Message::Text(ev.text.clone())],
                Err(RecvError::Lagged(_)) => Vec::new(),
                Err(RecvError::Closed) => break,
            },
            _ = shutdown.changed() => {
                let frame = CloseFrame { code: 1001, reason: "server shutting down".into() };
                let _ = sink.send(Message::Close(Some(frame))).await;
                break;
            }
        };
        for m in out {
            if sink.send(m).await.is_err() {
                break 'session;
            }
            state.stats.ws_sent.fetch_add(1, Relaxed);
        }
    }
    s.publish(
        true,
        &json!({ "type": "leave", "room": s.room, "user": s.user }),
    );
    let room = std::mem::take(&mut s.room);
    drop(s);
    rooms.cleanup(&room);
}

/// Handles one client frame; returns the frames for the sender alone.
fn handle(state: &AppState, s: &mut Session, text: &str) -> Vec<Value> {
    let error = |e: &str| vec![json!({ "type": "error", "error": e })];
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return error("expected a JSON object with a `type`");
    };
    let ts = now_millis();
    match v.get("type").and_then(Value::as_str) {
        Some("join") => {
            if let Some(user) = v.get("user").and_then(Value::as_str) {
                s.user = clip(user);
            }
            if let Some(room) = v.get("room").and_then(Value::as_str).map(clip) {
                if room != s.room {
                    s.publish(
                        true,
                        &json!({ "type": "leave", "room": s.room, "user": s.user }),
                    );
                    let (tx, rx) = state.rooms.join(&room);
                    let old = std::mem::replace(&mut s.room, room);
                    s.tx = tx;
                    s.rx = rx;
                    state.rooms.cleanup(&old);
                }
            }
            s.publish(
                false,
                &json!({ "type": "join", "room": s.room, "user": s.user, "ts": ts }),
            );
            let members = s.tx.receiver_count();
            vec![
                json!({ "type": "ack", "ref": "join", "room": s.room, "user": s.user, "members": members }),
            ]
        }
        Some("chat") => {
            let Some(text) = v
                .get("text")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
            else {
                return error("chat needs a `text` string");
            };
            let id = state.rooms.next_message.fetch_add(1, Relaxed) + 1;
            s.publish(
                false,
                &json!({ "type": "chat", "id": id, "room": s.room, "user": s.user, "text": text, "ts": ts }),
            );
            vec![json!({ "type": "ack", "ref": "chat", "id": id, "ts": ts })]
        }
        Some("typing") => {
            let typing = v.get("isTyping").and_then(Value::as_bool).unwrap_or(true);
            s.publish(
                true,
                &json!({ "type": "typing", "room": s.room, "user": s.user, "isTyping": typing }),
            );
            Vec::new()
        }
        Some("ping") => vec![json!({ "type": "pong", "ts": ts })],
        Some(other) => error(&format!("unknown message type {other:?}")),
        None => error("missing `type`"),
    }
}
