//! Accounts and bearer tokens: `POST /auth/signup`, `POST /auth/login`, `GET /auth/me`,
//! `POST /auth/refresh`.
//!
//! Passwords are hashed with `hash_cost` rounds of sha256 so that login costs CPU the way bcrypt
//! does. Tokens are stateless (`stk_{user}_{nonce}_{signature}`), so logins do not grow memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use http::{header, HeaderMap, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{iso8601, now_millis, require_str, str_field, ApiError, Payload};
use crate::fixtures;

/// A customer's plan, which picks its `/api/*` rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Free,
    Starter,
    Professional,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Starter => "starter",
            Tier::Professional => "professional",
        }
    }

    fn parse(s: &str) -> Option<Tier> {
        match s.to_ascii_lowercase().as_str() {
            "free" => Some(Tier::Free),
            "starter" => Some(Tier::Starter),
            "professional" | "pro" => Some(Tier::Professional),
            _ => None,
        }
    }
}

/// One account.
#[derive(Debug)]
pub(crate) struct User {
    pub id: u64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub tier: Option<Tier>,
    salt: [u8; 16],
    hash: [u8; 32],
    created_at: u64,
}

impl User {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "tier": self.tier.map(Tier::as_str),
            "createdAt": iso8601(self.created_at),
        })
    }
}

#[derive(Default)]
struct Users {
    by_email: HashMap<String, Arc<User>>,
    by_id: HashMap<u64, Arc<User>>,
}

/// Accounts, password checks and token issue/verification.
pub(crate) struct AuthStore {
    users: RwLock<Users>,
    next_id: AtomicU64,
    secret: [u8; 32],
    static_tokens: HashMap<&'static str, u64>,
    hash_cost: u32,
}

fn hash_password(salt: &[u8; 16], password: &str, cost: u32) -> [u8; 32] {
    let mut h: [u8; 32] = Sha256::new()
        .chain_update(salt)
        .chain_update(password)
        .finalize()
        .into();
    for _ in 0..cost {
        h = Sha256::new()
            .chain_update(h)
            .chain_update(salt)
            .finalize()
            .into();
    }
    h
}

fn random_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    salt[..8].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    salt[8..].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    salt
}

/// The bearer token of an `Authorization: Bearer ...` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl AuthStore {
    /// A store holding the seeded accounts of [`crate::fixtures`].
    pub fn new(hash_cost: u32, seed_users: u32) -> Self {
        let mut secret = [0u8; 32];
        for chunk in secret.chunks_mut(8) {
            chunk.copy_from_slice(&fastrand::u64(..).to_le_bytes());
        }
        let store = AuthStore {
            users: RwLock::new(Users::default()),
            next_id: AtomicU64::new(1),
            secret,
            static_tokens: HashMap::new(),
            hash_cost,
        };
        // Seeded accounts share one salt so that a large seed costs one hash, not thousands.
        let salt = random_salt();
        let seed_hash = hash_password(&salt, fixtures::SEED_PASSWORD, hash_cost);
        let add = |email: &str, name: &str, tier: Option<Tier>, hash: [u8; 32]| {
            store
                .insert(email, name, "customer", tier, salt, hash)
                .map(|u| u.id)
                .unwrap_or(0)
        };
        let mut static_tokens = HashMap::new();
        for n in 1..=seed_users {
            let id = add(
                &fixtures::seeded_user_email(n),
                &format!("User {n}"),
                None,
                seed_hash,
            );
            if n == 1 {
                static_tokens.insert(fixtures::USER_TOKEN, id);
            }
        }
        let tiers = [
            (
                fixtures::FREE_EMAIL,
                "free-tier@example.com",
                Tier::Free,
                fixtures::FREE_TOKEN,
            ),
            (
                fixtures::STARTER_EMAIL,
                "starter-tier@example.com",
                Tier::Starter,
                fixtures::STARTER_TOKEN,
            ),
            (
                fixtures::PROFESSIONAL_EMAIL,
                "pro-tier@example.com",
                Tier::Professional,
                fixtures::PROFESSIONAL_TOKEN,
            ),
        ];
        for (email, alias, tier, token) in tiers {
            let name = format!("{} tenant", tier.as_str());
            let id = add(email, &name, Some(tier), seed_hash);
            static_tokens.insert(token, id);
            add(alias, &name, Some(tier), seed_hash);
        }
        let loadtest = hash_password(&salt, fixtures::LOADTEST_PASSWORD, hash_cost);
        add(fixtures::LOADTEST_EMAIL, "Load Test", None, loadtest);
        AuthStore {
            static_tokens,
            ..store
        }
    }

    fn insert(
        &self,
        email: &str,
        name: &str,
        role: &str,
        tier: Option<Tier>,
        salt: [u8; 16],
        hash: [u8; 32],
    ) -> Result<Arc<User>, ApiError> {
        let key = email.to_ascii_lowercase();
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        if users.by_email.contains_key(&key) {
            return Err(ApiError::conflict(format!(
                "email {email} is already registered"
            )));
        }
        let user = Arc::new(User {
            id: self.next_id.fetch_add(1, Relaxed),
            email: key.clone(),
            name: name.to_string(),
            role: role.to_string(),
            tier,
            salt,
            hash,
            created_at: now_millis(),
        });
        users.by_email.insert(key, user.clone());
        users.by_id.insert(user.id, user.clone());
        Ok(user)
    }

    fn signature(&self, uid: u64, nonce: u64) -> u64 {
        let d = Sha256::new()
            .chain_update(self.secret)
            .chain_update(uid.to_le_bytes())
            .chain_update(nonce.to_le_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        u64::from_le_bytes(first)
    }

    /// A new signed token for `uid`.
    pub fn issue_token(&self, uid: u64) -> String {
        let nonce = fastrand::u64(..);
        format!("stk_{uid}_{nonce:016x}_{:016x}", self.signature(uid, nonce))
    }

    /// The user a token belongs to, if the token is valid.
    pub fn resolve(&self, token: &str) -> Option<Arc<User>> {
        let uid = match self.static_tokens.get(token) {
            Some(uid) => *uid,
            None => {
                let mut parts = token.strip_prefix("stk_")?.split('_');
                let uid: u64 = parts.next()?.parse().ok()?;
                let nonce = u64::from_str_radix(parts.next()?, 16).ok()?;
                let sig = u64::from_str_radix(parts.next()?, 16).ok()?;
                if parts.next().is_some() || sig != self.signature(uid, nonce) {
                    return None;
                }
                uid
            }
        };
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .get(&uid)
            .cloned()
    }

    /// The user whose email and password match. Always pays the hash cost, found or not.
    pub fn login(&self, email: &str, password: &str) -> Option<Arc<User>> {
        let user = self
            .users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_email
            .get(&email.trim().to_ascii_lowercase())
            .cloned();
        let salt = user.as_ref().map_or([0u8; 16], |u| u.salt);
        let hash = hash_password(&salt, password, self.hash_cost);
        user.filter(|u| u.hash == hash)
    }

    pub fn user_count(&self) -> usize {
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .len()
    }
}

/// An authenticated caller; 401 when the bearer token is missing or invalid.
pub(crate) struct AuthUser(pub Arc<User>);

impl FromRequestParts<Arc<AppState>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        if let Some(user) = parts.extensions.get::<Arc<User>>() {
            return Ok(AuthUser(user.clone()));
        }
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        state
            .auth
            .resolve(token)
            .map(AuthUser)
            .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
    }
}

/// `POST /auth/signup` {email, password, name, role, tier?} -> 201 user (+ access_token).
pub(crate) async fn signup(
    State(state): State<Arc<AppState>>,
    Payload(body): Payload,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = require_str(&body, "email")?;
    let password = require_str(&body, "password")?;
    if !email.contains('@') || email.len() > 254 {
        return Err(ApiError::bad_request("`email` is not an email address"));
    }
    if password.len() < 6 {
        return Err(ApiError::bad_request(
            "`password` must have at least 6 characters",
        ));
    }
    let name =
        str_field(&body, &["name"]).unwrap_or_else(|| email.split('@').next().unwrap_or(email));
    let role = str_field(&body, &["role"]).unwrap_or("customer");
    if role.len() > 32 || name.len() > 200 {
        return Err(ApiError::bad_request("`name` or `role` is too long"));
    }
    let tier = match str_field(&body, &["tier", "plan"]) {
        Some(t) => Some(Tier::parse(t).ok_or_else(|| ApiError::bad_request("unknown `tier`"))?),
        None => None,
    };
    let salt = random_salt();
    let hash = hash_password(&salt, password, state.config.hash_cost);
    let user = state.auth.insert(email, name, role, tier, salt, hash)?;
    let mut out = user.json();
    out["access_token"] = Value::String(state.auth.issue_token(user.id));
    Ok((StatusCode::CREATED, Json(out)))
}

/// `POST /auth/login` {email, password} -> 200 {access_token, token_type, expires_in, user}.
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    Payload(body): Payload,
) -> Result<Json<Value>, ApiError> {
    let email = require_str(&body, "email")?;
    let password = require_str(&body, "password")?;
    let user = state
        .auth
        .login(email, password)
        .ok_or_else(|| ApiError::unauthorized("invalid email or password"))?;
    Ok(Json(token_json(&state, &user)))
}

fn token_json(state: &AppState, user: &User) -> Value {
    json!({
        "access_token": state.auth.issue_token(user.id),
        "token_type": "Bearer",
        "expires_in": 3600,
        "user": user.json(),
    })
}

/// `GET /auth/me` -> the caller.
pub(crate) async fn me(AuthUser(user): AuthUser) -> Json<Value> {
    Json(user.json())
}

/// `POST /auth/refresh` -> a fresh token for the caller.
pub(crate) async fn refresh(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
) -> Json<Value> {
    Json(token_json(&state, &user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_logins_and_tokens() {
        let store = AuthStore::new(10, 3);
        let u = store
            .login("USER2@example.com", "password123")
            .expect("seeded user");
        assert!(store.login("user2@example.com", "nope").is_none());
        assert!(store.login("ghost@example.com", "password123").is_none());
        let t = store.issue_token(u.id);
        assert_eq!(store.resolve(&t).map(|x| x.id), Some(u.id));
        assert!(store.resolve(&t.replace("stk_", "stk_1")).is_none());
        assert!(store.resolve("stk_1_zz_00").is_none());
        let free = store.resolve(fixtures::FREE_TOKEN).expect("static token");
        assert_eq!(free.tier, Some(Tier::Free));
        assert!(store
            .login(fixtures::LOADTEST_EMAIL, fixtures::LOADTEST_PASSWORD)
            .is_some());
        assert!(store.login("pro-tier@example.com", "password123").is_some());
    }

    #[test]
    fn bearer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            "bearer  abc ".parse().expect("header"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert_eq!(bearer(&h), None);
    }
}
