//! Service providers: `GET /providers/search?q=&category=` and `GET /providers/near?lat=&lng=`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use http::Uri;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::{pagination, ApiError};
use crate::fixtures::PROVIDER_COUNT;
use crate::helpers::query_map;

const TRADES: [&str; 8] = [
    "plumbing",
    "electrical",
    "cleaning",
    "painting",
    "gardening",
    "moving",
    "roofing",
    "carpentry",
];
const SURNAMES: [&str; 10] = [
    "Smith",
    "Garcia",
    "Chen",
    "Okafor",
    "Novak",
    "Silva",
    "Kim",
    "Müller",
    "Haddad",
    "Johansson",
];
/// (city, lat, lng) centres the providers are scattered around.
const CITIES: [(&str, f64, f64); 6] = [
    ("New York", 40.7128, -74.0060),
    ("Chicago", 41.8781, -87.6298),
    ("Austin", 30.2672, -97.7431),
    ("Seattle", 47.6062, -122.3321),
    ("London", 51.5074, -0.1278),
    ("Berlin", 52.5200, 13.4050),
];

/// One provider.
pub(crate) struct Provider {
    id: u64,
    name: String,
    search: String,
    category: &'static str,
    city: &'static str,
    lat: f64,
    lng: f64,
    rating: f64,
    reviews: u32,
    hourly_rate: u32,
}

impl Provider {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "city": self.city,
            "lat": self.lat,
            "lng": self.lng,
            "rating": self.rating,
            "reviews": self.reviews,
            "hourlyRate": self.hourly_rate,
        })
    }
}

/// The fixed provider directory (ids `1..=PROVIDER_COUNT`).
pub(crate) fn generate() -> Vec<Provider> {
    let mut rng = fastrand::Rng::with_seed(11);
    (1..=PROVIDER_COUNT)
        .map(|id| {
            let category = TRADES[rng.usize(..TRADES.len())];
            let (city, lat, lng) = CITIES[rng.usize(..CITIES.len())];
            let name = format!(
                "{} {} Services",
                SURNAMES[rng.usize(..SURNAMES.len())],
                capitalize(category)
            );
            Provider {
                id,
                search: format!("{name} {category} {city}").to_lowercase(),
                name,
                category,
                city,
                lat: lat + (rng.f64() - 0.5) * 0.4,
                lng: lng + (rng.f64() - 0.5) * 0.4,
                rating: f64::from(rng.u8(25..=50)) / 10.0,
                reviews: rng.u32(0..=800),
                hourly_rate: rng.u32(30..=150),
            }
        })
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Great-circle distance in km.
fn haversine_km(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().min(1.0).asin()
}

/// `GET /providers/search?q=&category=&page=&limit=` -> {data, total, page, limit, query}.
pub(crate) async fn search(State(state): State<Arc<AppState>>, uri: Uri) -> Json<Value> {
    let q = query_map(&uri);
    let (page, limit) = pagination(&q);
    let text = q
        .get("q")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let category = q.get("category").map(|c| c.to_lowercase());
    let hits: Vec<&Provider> = state
        .providers
        .iter()
        .filter(|p| text.is_empty() || p.search.contains(&text))
        .filter(|p| category.as_deref().is_none_or(|c| p.category == c))
        .collect();
    let data: Vec<Value> = hits
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|p| p.json())
        .collect();
    Json(json!({ "data": data, "total": hits.len(), "page": page, "limit": limit, "query": text }))
}

/// `GET /providers/near?lat=&lng=&radius=&limit=` -> providers within `radius` km (default 25),
/// nearest first, each with `distanceKm`.
pub(crate) async fn near(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let q = query_map(&uri);
    let coord = |names: &[&str], max: f64| -> Result<f64, ApiError> {
        let raw = names.iter().find_map(|n| q.get(*n)).ok_or_else(|| {
            ApiError::bad_request(format!("missing query parameter `{}`", names[0]))
        })?;
        raw.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && v.abs() <= max)
            .ok_or_else(|| {
                ApiError::bad_request(format!("`{}` must be a number within ±{max}", names[0]))
            })
    };
    let lat = coord(&["lat", "latitude"], 90.0)?;
    let lng = coord(&["lng", "lon", "longitude"], 180.0)?;
    let radius = q
        .get("radius")
        .and_then(|r| r.parse::<f64>().ok())
        .unwrap_or(25.0)
        .clamp(0.0, 20_000.0);
    let (_, limit) = pagination(&q);
    let mut hits: Vec<(f64, &Provider)> = state
        .providers
        .iter()
        .map(|p| (haversine_km(lat, lng, p.lat, p.lng), p))
        .filter(|(d, _)| *d <= radius)
        .collect();
    hits.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = hits.len();
    let data: Vec<Value> = hits
        .into_iter()
        .take(limit)
        .map(|(d, p)| {
            let mut v = p.json();
            v["distanceKm"] = json!((d * 100.0).round() / 100.0);
            v
        })
        .collect();
    Ok(Json(
        json!({ "data": data, "total": total, "radiusKm": radius }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let d = haversine_km(40.7128, -74.0060, 51.5074, -0.1278);
        assert!((d - 5570.0).abs() < 20.0, "{d}");
        assert!(haversine_km(1.0, 1.0, 1.0, 1.0).abs() < 1e-9);
    }
}
