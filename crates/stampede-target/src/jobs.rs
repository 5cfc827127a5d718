//! Jobs and quotes of the service marketplace: `POST /jobs`, `GET /jobs/mine`, `GET /jobs/{id}`,
//! `POST /jobs/{id}/quotes`, `POST /jobs/{id}/quotes/{qid}/accept`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::Json;
use http::{StatusCode, Uri};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{
    f64_field, iso8601, now_millis, page_json, pagination, require_str, str_field, ApiError,
    Payload,
};
use crate::helpers::query_map;

/// Oldest jobs are forgotten beyond this many, so long soak tests keep flat memory.
const MAX_JOBS: usize = 200_000;
/// Jobs remembered per owner for `/jobs/mine`.
const MAX_JOBS_PER_OWNER: usize = 1000;
/// Quotes kept per job.
const MAX_QUOTES_PER_JOB: usize = 100;

struct Quote {
    id: u64,
    provider_id: u64,
    amount: f64,
    message: String,
    status: &'static str,
    created_at: u64,
}

struct Job {
    id: u64,
    owner: u64,
    title: String,
    description: String,
    category: String,
    budget: Option<f64>,
    status: &'static str,
    created_at: u64,
    quotes: Vec<Quote>,
}

impl Job {
    fn json(&self, with_quotes: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "customerId": self.owner,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "budget": self.budget,
            "status": self.status,
            "quoteCount": self.quotes.len(),
            "createdAt": iso8601(self.created_at),
        });
        if with_quotes {
            v["quotes"] = self.quotes.iter().map(|q| quote_json(self.id, q)).collect();
        }
        v
    }
}

fn quote_json(job_id: u64, q: &Quote) -> Value {
    json!({
        "id": q.id,
        "jobId": job_id,
        "providerId": q.provider_id,
        "amount": q.amount,
        "message": q.message,
        "status": q.status,
        "createdAt": iso8601(q.created_at),
    })
}

#[derive(Default)]
struct Inner {
    jobs: BTreeMap<u64, Job>,
    by_owner: HashMap<u64, VecDeque<u64>>,
}

/// All jobs, in memory, bounded.
#[derive(Default)]
pub(crate) struct JobStore {
    inner: Mutex<Inner>,
    next_job: AtomicU64,
    next_quote: AtomicU64,
}

impl JobStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn count(&self) -> usize {
        self.lock().jobs.len()
    }
}

fn job_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(&format!("job {raw}")))
}

/// `POST /jobs` {title, description, category?, budget?} -> 201 job.
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    Payload(body): Payload,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let title = require_str(&body, "title")?;
    if title.len() > 500 {
        return Err(ApiError::bad_request("`title` is too long"));
    }
    let description = str_field(&body, &["description"]).unwrap_or("");
    let store = &state.jobs;
    let job = Job {
        id: store.next_job.fetch_add(1, Relaxed) + 1,
        owner: user.id,
        title: title.to_string(),
        description: description.chars().take(10_000).collect(),
        category: str_field(&body, &["category"])
            .unwrap_or("general")
            .chars()
            .take(100)
            .collect(),
        budget: f64_field(&body, &["budget"]),
        status: "open",
        created_at: now_millis(),
        quotes: Vec::new(),
    };
    let out = job.json(true);
    let mut inner = store.lock();
    let owned = inner.by_owner.entry(user.id).or_default();
    owned.push_back(job.id);
    if owned.len() > MAX_JOBS_PER_OWNER {
        owned.pop_front();
    }
    inner.jobs.insert(job.id, job);
    if inner.jobs.len() > MAX_JOBS {
        if let Some((_, old)) = inner.jobs.pop_first() {
            if let Some(list) = inner.by_owner.get_mut(&old.owner) {
                list.retain(|id| *id != old.id);
            }
        }
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /jobs/mine?page=&limit=` -> the caller's jobs, newest first, paginated.
pub(crate) async fn mine(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    uri: Uri,
) -> Json<Value> {
    let (page, limit) = pagination(&query_map(&uri));
    let inner = state.jobs.lock();
    let ids = inner.by_owner.get(&user.id);
    let total = ids.map_or(0, VecDeque::len);
    let data = ids
        .into_iter()
        .flat_map(|ids| ids.iter().rev())
        .skip((page - 1) * limit)
        .take(limit)
        .filter_map(|id| inner.jobs.get(id))
        .map(|j| j.json(false))
        .collect();
    Json(page_json(data, page, limit, total))
}

/// `GET /jobs/{id}` -> the job with its quotes.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    _user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = job_id(&id)?;
    let inner = state.jobs.lock();
    let job = inner
        .jobs
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&format!("job {id}")))?;
    Ok(Json(job.json(true)))
}

/// `POST /jobs/{id}/quotes` {amount, message?} -> 201 quote. Any signed-in user may quote.
pub(crate) async fn quote(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Payload(body): Payload,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = job_id(&id)?;
    let amount = f64_field(&body, &["amount", "price"])
        .filter(|a| a.is_finite() && *a >= 0.0)
        .ok_or_else(|| ApiError::bad_request("`amount` must be a non-negative number"))?;
    let message = str_field(&body, &["message"])
        .unwrap_or("")
        .chars()
        .take(2000)
        .collect();
    let mut inner = state.jobs.lock();
    let job = inner
        .jobs
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&format!("job {id}")))?;
    if job.status != "open" {
        return Err(ApiError::conflict(format!(
            "job {id} is already {}",
            job.status
        )));
    }
    if job.quotes.len() >= MAX_QUOTES_PER_JOB {
        return Err(ApiError::conflict(format!(
            "job {id} has {MAX_QUOTES_PER_JOB} quotes already"
        )));
    }
    let q = Quote {
        id: state.jobs.next_quote.fetch_add(1, Relaxed) + 1,
        provider_id: user.id,
        amount,
        message,
        status: "pending",
        created_at: now_millis(),
    };
    let out = quote_json(id, &q);
    job.quotes.push(q);
    Ok((StatusCode::CREATED, Json(out)))
}

/// `POST /jobs/{id}/quotes/{qid}/accept` -> 200 {job, quote}. Only the job's owner may accept;
/// 409 when another quote was accepted already.
pub(crate) async fn accept(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = job_id(&id)?;
    let qid: u64 = qid
        .parse()
        .map_err(|_| ApiError::not_found(&format!("quote {qid}")))?;
    let mut inner = state.jobs.lock();
    let job = inner
        .jobs
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&format!("job {id}")))?;
    if job.owner != user.id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only the job's owner can accept quotes",
        ));
    }
    let idx = job
        .quotes
        .iter()
        .position(|q| q.id == qid)
        .ok_or_else(|| ApiError::not_found(&format!("quote {qid}")))?;
    match job.quotes.iter().find(|q| q.status == "accepted") {
        Some(q) if q.id == qid => {}
        Some(q) => {
            return Err(ApiError::conflict(format!(
                "quote {} was accepted already",
                q.id
            )))
        }
        None => {
            for (i, q) in job.quotes.iter_mut().enumerate() {
                q.status = if i == idx { "accepted" } else { "rejected" };
            }
            job.status = "assigned";
        }
    }
    Ok(Json(
        json!({ "job": job.json(false), "quote": quote_json(id, &job.quotes[idx]) }),
    ))
}
