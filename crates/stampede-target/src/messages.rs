//! Messaging inbox of a tenant: `POST /messages/send`, `GET /messages/conversations`,
//! `GET /messages/conversations/{id}`, `POST /messages/conversations/{id}/reply`,
//! `POST /messages/conversations/{id}/read`, and `GET /analytics/summary`.
//!
//! The conversations (ids `1..=CONVERSATION_COUNT`) are shared by every signed-in user; each
//! keeps its latest messages only, so memory stays flat however long a test runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Path, State};
use axum::Json;
use http::{StatusCode, Uri};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{
    iso8601, now_millis, page_json, pagination, str_field, u64_field, ApiError, Payload,
};
use crate::fixtures::CONVERSATION_COUNT;
use crate::helpers::query_map;

/// Messages kept per conversation.
const KEEP: usize = 200;
/// Messages returned by `GET /messages/conversations/{id}`.
const SHOWN: usize = 50;
const MAX_CONTENT: usize = 5000;

const FIRST_NAMES: [&str; 10] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hugo", "Ines", "Jonah",
];
const OPENERS: [&str; 5] = [
    "Hi, is the event still on this Sunday?",
    "Thanks for the reminder!",
    "Can I bring a friend along?",
    "What time does it start?",
    "Please add me to the volunteers list.",
];

struct Message {
    id: u64,
    inbound: bool,
    sender: Option<u64>,
    content: String,
    at: u64,
}

struct Conversation {
    id: u64,
    contact: String,
    phone: String,
    unread: u64,
    count: u64,
    updated_at: u64,
    messages: VecDeque<Message>,
}

fn message_json(conversation: u64, m: &Message) -> Value {
    json!({
        "id": m.id,
        "conversationId": conversation,
        "direction": if m.inbound { "inbound" } else { "outbound" },
        "senderId": m.sender,
        "content": m.content,
        "status": "delivered",
        "createdAt": iso8601(m.at),
    })
}

impl Conversation {
    fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "contactName": self.contact,
            "phone": self.phone,
            "unreadCount": self.unread,
            "messageCount": self.count,
            "lastMessage": self.messages.back().map(|m| m.content.as_str()),
            "updatedAt": iso8601(self.updated_at),
        })
    }

    fn push(&mut self, m: Message) {
        self.count += 1;
        self.updated_at = m.at;
        self.messages.push_back(m);
        if self.messages.len() > KEEP {
            self.messages.pop_front();
        }
    }
}

/// The shared inbox.
pub(crate) struct Inbox {
    conversations: Vec<Mutex<Conversation>>,
    next_message: AtomicU64,
    sent: AtomicU64,
}

impl Inbox {
    pub fn new() -> Self {
        let now = now_millis();
        let mut next = 1;
        let conversations = (1..=CONVERSATION_COUNT)
            .map(|id| {
                let i = usize::try_from(id).unwrap_or(0);
                let mut c = Conversation {
                    id,
                    contact: format!("{} {}", FIRST_NAMES[i % FIRST_NAMES.len()], id),
                    phone: format!("+1555{:07}", id * 7919 % 10_000_000),
                    unread: 0,
                    count: 0,
                    updated_at: now,
                    messages: VecDeque::new(),
                };
                for k in 0..3 {
                    let inbound = k % 2 == 0;
                    let content = OPENERS[(i + k) % OPENERS.len()].to_string();
                    let at = now - (CONVERSATION_COUNT - id + 3 - k as u64) * 60_000;
                    c.push(Message {
                        id: next,
                        inbound,
                        sender: None,
                        content,
                        at,
                    });
                    c.unread += u64::from(inbound);
                    next += 1;
                }
                Mutex::new(c)
            })
            .collect();
        Inbox {
            conversations,
            next_message: AtomicU64::new(next),
            sent: AtomicU64::new(0),
        }
    }

    fn get(&self, raw: &str) -> Result<MutexGuard<'_, Conversation>, ApiError> {
        raw.parse::<usize>()
            .ok()
            .and_then(|id| self.conversations.get(id.checked_sub(1)?))
            .map(|c| c.lock().unwrap_or_else(PoisonError::into_inner))
            .ok_or_else(|| ApiError::not_found(&format!("conversation {raw}")))
    }

    fn post(&self, c: &mut Conversation, sender: u64, content: &str) -> Value {
        let m = Message {
            id: self.next_message.fetch_add(1, Relaxed),
            inbound: false,
            sender: Some(sender),
            content: content.chars().take(MAX_CONTENT).collect(),
            at: now_millis(),
        };
        let out = message_json(c.id, &m);
        c.push(m);
        self.sent.fetch_add(1, Relaxed);
        out
    }
}

fn content(body: &Value) -> Result<&str, ApiError> {
    str_field(body, &["content", "text", "message", "body"])
        .ok_or_else(|| ApiError::bad_request("missing message `content`"))
}

/// `POST /messages/send` {content, conversationId?} -> 200 message. Without a conversation id
/// the message goes to the caller's default conversation.
pub(crate) async fn send(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    Payload(body): Payload,
) -> Result<Json<Value>, ApiError> {
    let text = content(&body)?;
    let id = u64_field(&body, &["conversationId", "conversation_id"])
        .unwrap_or(user.id % CONVERSATION_COUNT + 1);
    let mut c = state.inbox.get(&id.to_string())?;
    Ok(Json(state.inbox.post(&mut c, user.id, text)))
}

/// `GET /messages/conversations?page=&limit=` -> conversations, most recently active first.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    _user: AuthUser,
    uri: Uri,
) -> Json<Value> {
    let (page, limit) = pagination(&query_map(&uri));
    let mut all: Vec<(u64, Value)> = state
        .inbox
        .conversations
        .iter()
        .map(|c| {
            let c = c.lock().unwrap_or_else(PoisonError::into_inner);
            (c.updated_at, c.summary())
        })
        .collect();
    all.sort_by_key(|c| std::cmp::Reverse(c.0));
    let total = all.len();
    let data = all
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|(_, v)| v)
        .collect();
    Json(page_json(data, page, limit, total))
}

/// `GET /messages/conversations/{id}` -> the conversation with its latest messages.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    _user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = state.inbox.get(&id)?;
    let mut out = c.summary();
    let skip = c.messages.len().saturating_sub(SHOWN);
    out["messages"] = c
        .messages
        .iter()
        .skip(skip)
        .map(|m| message_json(c.id, m))
        .collect();
    Ok(Json(out))
}

/// `POST /messages/conversations/{id}/reply` {content} -> 201 message.
pub(crate) async fn reply(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Payload(body): Payload,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let text = content(&body)?;
    let mut c = state.inbox.get(&id)?;
    Ok((
        StatusCode::CREATED,
        Json(state.inbox.post(&mut c, user.id, text)),
    ))
}

/// `POST /messages/conversations/{id}/read` -> 200 summary with `unreadCount` 0.
pub(crate) async fn mark_read(
    State(state): State<Arc<AppState>>,
    _user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut c = state.inbox.get(&id)?;
    c.unread = 0;
    Ok(Json(c.summary()))
}

/// `GET /analytics/summary` -> tenant-wide counts.
pub(crate) async fn summary(State(state): State<Arc<AppState>>, _user: AuthUser) -> Json<Value> {
    let inbox = &state.inbox;
    let (mut messages, mut unread) = (0u64, 0u64);
    for c in &inbox.conversations {
        let c = c.lock().unwrap_or_else(PoisonError::into_inner);
        messages += c.count;
        unread += u64::from(c.unread > 0);
    }
    Json(json!({
        "totalConversations": inbox.conversations.len(),
        "unreadConversations": unread,
        "totalMessages": messages,
        "messagesSent": inbox.sent.load(Relaxed),
        "totalUsers": state.auth.user_count(),
        "jobs": state.jobs.count(),
        "orders": state.shop.orders_created(),
        "deliveryRate": 0.987,
        "generatedAt": iso8601(now_millis()),
    }))
}
