//! Products, orders with a limited-stock flash sale, reports, inventory and bulk import:
//! everything under `/api/` except metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use http::{StatusCode, Uri};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::{
    as_u64, f64_field, iso8601, now_millis, page_json, pagination, u64_field, ApiError, Payload,
    RawBody,
};
use crate::fixtures::{FLASH_SALE_PRODUCT_ID, PRODUCT_COUNT};
use crate::helpers::query_map;

const CATEGORIES: [&str; 8] = [
    "electronics",
    "books",
    "clothing",
    "home",
    "garden",
    "toys",
    "sports",
    "beauty",
];
const ADJECTIVES: [&str; 12] = [
    "Classic", "Deluxe", "Compact", "Smart", "Eco", "Vintage", "Ultra", "Portable", "Premium",
    "Rugged", "Wireless", "Handmade",
];
const NOUNS: [&str; 12] = [
    "Lamp",
    "Backpack",
    "Speaker",
    "Notebook",
    "Jacket",
    "Kettle",
    "Drone",
    "Planter",
    "Puzzle",
    "Racket",
    "Serum",
    "Headphones",
];
const MAX_ITEMS: usize = 50;
const MAX_QUANTITY: u64 = 100;

/// One ordinary product (ids `1..=PRODUCT_COUNT`, unlimited supply for orders).
pub(crate) struct Product {
    id: u64,
    name: String,
    name_lc: String,
    category: &'static str,
    price_cents: u64,
    sku: String,
    rating: f64,
    stock: AtomicI64,
}

impl Product {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "sku": self.sku,
            "category": self.category,
            "price": self.price_cents as f64 / 100.0,
            "rating": self.rating,
            "stock": self.stock.load(Relaxed),
            "description": format!("{} from our {} range.", self.name, self.category),
        })
    }

    fn matches(&self, q: &str) -> bool {
        q.is_empty()
            || self.name_lc.contains(q)
            || self.category.contains(q)
            || self.sku.contains(q)
    }
}

/// The product store and order counters.
pub(crate) struct Shop {
    products: Vec<Product>,
    flash_initial: AtomicU32,
    flash_stock: AtomicU32,
    flash_sold: AtomicU64,
    flash_refused: AtomicU64,
    next_order: AtomicU64,
    imported: AtomicU64,
}

impl Shop {
    pub fn new(flash_sale_stock: u32) -> Self {
        let mut rng = fastrand::Rng::with_seed(7);
        let products = (1..=PRODUCT_COUNT)
            .map(|id| {
                let name = format!(
                    "{} {} {id}",
                    ADJECTIVES[rng.usize(..ADJECTIVES.len())],
                    NOUNS[rng.usize(..NOUNS.len())]
                );
                Product {
                    id,
                    name_lc: name.to_lowercase(),
                    name,
                    category: CATEGORIES[rng.usize(..CATEGORIES.len())],
                    price_cents: rng.u64(199..=49_999),
                    sku: format!("sku-{id:05}"),
                    rating: f64::from(rng.u8(20..=50)) / 10.0,
                    stock: AtomicI64::new(rng.i64(0..=500)),
                }
            })
            .collect();
        Shop {
            products,
            flash_initial: AtomicU32::new(flash_sale_stock),
            flash_stock: AtomicU32::new(flash_sale_stock),
            flash_sold: AtomicU64::new(0),
            flash_refused: AtomicU64::new(0),
            next_order: AtomicU64::new(1),
            imported: AtomicU64::new(0),
        }
    }

    /// Restores the flash-sale stock (`POST /_target/reset`).
    pub fn reset(&self) {
        self.flash_stock
            .store(self.flash_initial.load(Relaxed), Relaxed);
        self.flash_sold.store(0, Relaxed);
        self.flash_refused.store(0, Relaxed);
    }

    pub fn orders_created(&self) -> u64 {
        self.next_order.load(Relaxed) - 1
    }

    fn flash_json(&self) -> Value {
        let remaining = self.flash_stock.load(Relaxed);
        json!({
            "id": FLASH_SALE_PRODUCT_ID,
            "name": "Flash Sale Console",
            "sku": "flash-001",
            "category": "electronics",
            "price": 99.0,
            "rating": 4.9,
            "stock": remaining,
            "initialStock": self.flash_initial.load(Relaxed),
            "sold": self.flash_sold.load(Relaxed),
            "soldOut": remaining == 0,
        })
    }

    fn product(&self, id: &Value) -> Result<Item<'_>, ApiError> {
        if id.as_str() == Some(FLASH_SALE_PRODUCT_ID) {
            return Ok(Item::Flash);
        }
        let n =
            as_u64(id).ok_or_else(|| ApiError::bad_request("`productId` must be a product id"))?;
        n.checked_sub(1)
            .and_then(|i| self.products.get(usize::try_from(i).ok()?))
            .map(Item::Regular)
            .ok_or_else(|| ApiError::not_found(&format!("product {n}")))
    }

    fn by_category(&self) -> BTreeMap<&'static str, (u64, i64, f64)> {
        let mut out = BTreeMap::new();
        for p in &self.products {
            let e = out.entry(p.category).or_insert((0u64, 0i64, 0f64));
            let stock = p.stock.load(Relaxed);
            e.0 += 1;
            e.1 += stock;
            e.2 += stock as f64 * p.price_cents as f64 / 100.0;
        }
        out
    }
}

enum Item<'a> {
    Flash,
    Regular(&'a Product),
}

/// `GET /api/products?page=&limit=&category=` -> {data, page, limit, total, totalPages}.
pub(crate) async fn list(State(state): State<Arc<AppState>>, uri: Uri) -> Json<Value> {
    let q = query_map(&uri);
    let (page, limit) = pagination(&q);
    let category = q.get("category").map(|c| c.to_lowercase());
    let items: Vec<&Product> = state
        .shop
        .products
        .iter()
        .filter(|p| category.as_deref().is_none_or(|c| p.category == c))
        .collect();
    let data = items
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|p| p.json())
        .collect();
    Json(page_json(data, page, limit, items.len()))
}

/// `GET /api/products/search?q=&category=&minPrice=&maxPrice=&page=&limit=`.
pub(crate) async fn search(State(state): State<Arc<AppState>>, uri: Uri) -> Json<Value> {
    let q = query_map(&uri);
    let (page, limit) = pagination(&q);
    let text = q
        .get("q")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let category = q.get("category").map(|c| c.to_lowercase());
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<f64>().ok());
    let (min, max) = (
        num("minPrice").unwrap_or(0.0),
        num("maxPrice").unwrap_or(f64::MAX),
    );
    let hits: Vec<&Product> = state
        .shop
        .products
        .iter()
        .filter(|p| p.matches(&text))
        .filter(|p| category.as_deref().is_none_or(|c| p.category == c))
        .filter(|p| (min..=max).contains(&(p.price_cents as f64 / 100.0)))
        .collect();
    let data = hits
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|p| p.json())
        .collect();
    let mut out = page_json(data, page, limit, hits.len());
    out["query"] = Value::String(text);
    Json(out)
}

/// `GET /api/products/{id}` (numeric id or the flash-sale product's id).
pub(crate) async fn get_product(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = match id.parse::<u64>() {
        Ok(n) => Value::from(n),
        Err(_) => Value::String(id),
    };
    match state.shop.product(&id)? {
        Item::Flash => Ok(Json(state.shop.flash_json())),
        Item::Regular(p) => Ok(Json(p.json())),
    }
}

/// `GET /api/flash-sale`: the flash-sale product with its remaining stock.
pub(crate) async fn flash_sale(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.shop.flash_json())
}

/// `POST /api/orders` {productId, quantity} or {items: [{productId|product_id, quantity}]}:
/// 201; 409 once the flash-sale product is sold out.
pub(crate) async fn create_order(
    State(state): State<Arc<AppState>>,
    Payload(body): Payload,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let shop = &state.shop;
    let raw_items: Vec<&Value> = match body.get("items") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(_) => return Err(ApiError::bad_request("`items` must be an array")),
        None => vec![&body],
    };
    if raw_items.is_empty() || raw_items.len() > MAX_ITEMS {
        return Err(ApiError::bad_request(format!(
            "an order has 1..={MAX_ITEMS} items"
        )));
    }
    let mut items = Vec::with_capacity(raw_items.len());
    for raw in raw_items {
        let id = ["productId", "product_id", "id"]
            .iter()
            .find_map(|k| raw.get(*k))
            .ok_or_else(|| ApiError::bad_request("missing `productId`"))?;
        let quantity = match raw.get("quantity") {
            None => 1,
            Some(q) => {
                as_u64(q).ok_or_else(|| ApiError::bad_request("`quantity` must be a number"))?
            }
        };
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            return Err(ApiError::bad_request(format!(
                "`quantity` must be within 1..={MAX_QUANTITY}"
            )));
        }
        items.push((shop.product(id)?, quantity));
    }
    let flash_wanted: u64 = items
        .iter()
        .filter(|(i, _)| matches!(i, Item::Flash))
        .map(|(_, q)| q)
        .sum();
    if flash_wanted > 0 {
        let want = u32::try_from(flash_wanted).unwrap_or(u32::MAX);
        if shop
            .flash_stock
            .fetch_update(Relaxed, Relaxed, |s| s.checked_sub(want))
            .is_err()
        {
            shop.flash_refused.fetch_add(1, Relaxed);
            return Err(ApiError::conflict(format!(
                "{FLASH_SALE_PRODUCT_ID} is sold out ({} left)",
                shop.flash_stock.load(Relaxed)
            )));
        }
        shop.flash_sold.fetch_add(flash_wanted, Relaxed);
    }
    let lines: Vec<Value> = items
        .iter()
        .map(|(item, q)| {
            let (id, cents) = match item {
                Item::Flash => (Value::from(FLASH_SALE_PRODUCT_ID), 9900),
                Item::Regular(p) => (Value::from(p.id), p.price_cents),
            };
            json!({ "productId": id, "quantity": q, "unitPrice": cents as f64 / 100.0,
                    "subtotal": (cents * q) as f64 / 100.0 })
        })
        .collect();
    let total: f64 = lines.iter().filter_map(|l| l["subtotal"].as_f64()).sum();
    let id = shop.next_order.fetch_add(1, Relaxed);
    let first = lines.first().cloned().unwrap_or(Value::Null);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "status": "confirmed",
            "productId": first["productId"],
            "quantity": first["quantity"],
            "items": lines,
            "total": (total * 100.0).round() / 100.0,
            "createdAt": iso8601(now_millis()),
        })),
    ))
}

fn category_json(shop: &Shop) -> Value {
    shop.by_category()
        .into_iter()
        .map(|(c, (n, stock, value))| {
            (
                c.to_string(),
                json!({ "products": n, "stock": stock, "value": (value * 100.0).round() / 100.0 }),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// `GET /api/reports/inventory`: deliberately slow (the configured report delay).
pub(crate) async fn inventory_report(State(state): State<Arc<AppState>>) -> Json<Value> {
    let (lo, hi) = (state.config.report_delay_min, state.config.report_delay_max);
    let delay = lo + hi.saturating_sub(lo).mul_f64(fastrand::f64());
    tokio::time::sleep(delay).await;
    let shop = &state.shop;
    let mut low: Vec<&Product> = shop
        .products
        .iter()
        .filter(|p| p.stock.load(Relaxed) < 10)
        .collect();
    low.sort_by_key(|p| p.stock.load(Relaxed));
    Json(json!({
        "generatedAt": iso8601(now_millis()),
        "generationMs": delay.as_millis(),
        "totalProducts": shop.products.len(),
        "totalStock": shop.products.iter().map(|p| p.stock.load(Relaxed)).sum::<i64>(),
        "byCategory": category_json(shop),
        "lowStock": low.iter().take(20).map(|p| p.json()).collect::<Vec<_>>(),
        "lowStockCount": low.len(),
        "flashSale": shop.flash_json(),
    }))
}

/// `GET /api/analytics/inventory-summary`: an aggregation over every product.
pub(crate) async fn inventory_summary(State(state): State<Arc<AppState>>) -> Json<Value> {
    let shop = &state.shop;
    Json(json!({
        "totalProducts": shop.products.len(),
        "ordersCreated": shop.orders_created(),
        "byCategory": category_json(shop),
    }))
}

/// `GET /api/reports/order-details?include=all`: a "heavy join", 20-60 ms.
pub(crate) async fn order_details(State(state): State<Arc<AppState>>, uri: Uri) -> Json<Value> {
    tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(20..=60))).await;
    let all = query_map(&uri).get("include").is_some_and(|v| v == "all");
    let shop = &state.shop;
    let orders: Vec<Value> = (0..25u64)
        .map(|i| {
            let p = &shop.products[usize::try_from(i * 37 % PRODUCT_COUNT).unwrap_or(0)];
            let mut o = json!({ "orderId": i + 1, "productId": p.id, "quantity": 1 + i % 3 });
            if all {
                o["product"] = p.json();
            }
            o
        })
        .collect();
    Json(json!({ "data": orders, "total": 25, "include": if all { "all" } else { "summary" } }))
}

/// `POST /api/inventory/adjustments` {adjustments: [{productId, delta}]} -> 200 {applied}.
pub(crate) async fn inventory_adjustments(
    State(state): State<Arc<AppState>>,
    Payload(body): Payload,
) -> Result<Json<Value>, ApiError> {
    let list = match body.get("adjustments") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(Value::String(_)) => &[], // a form-encoded body cannot carry the list
        _ => return Err(ApiError::bad_request("missing `adjustments` array")),
    };
    let mut applied = 0u64;
    for adj in list {
        let Some(id) = u64_field(adj, &["productId", "product_id", "id"]) else {
            continue;
        };
        let delta = f64_field(adj, &["delta", "quantity"]).unwrap_or(0.0) as i64;
        if let Some(p) = id
            .checked_sub(1)
            .and_then(|i| state.shop.products.get(usize::try_from(i).ok()?))
        {
            p.stock.fetch_add(delta.clamp(-1000, 1000), Relaxed);
            applied += 1;
        }
    }
    Ok(Json(json!({ "applied": applied, "received": list.len() })))
}

/// `POST /api/bulk/import` [..] or {items: [..]} -> 200 {imported, totalImported}.
pub(crate) async fn bulk_import(
    State(state): State<Arc<AppState>>,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let n = match &v {
        Value::Array(a) => a.len(),
        Value::Object(o) => match o.get("items") {
            Some(Value::Array(a)) => a.len(),
            _ => {
                return Err(ApiError::bad_request(
                    "expected a JSON array or {items: [...]}",
                ))
            }
        },
        _ => {
            return Err(ApiError::bad_request(
                "expected a JSON array or {items: [...]}",
            ))
        }
    };
    let total = state.shop.imported.fetch_add(n as u64, Relaxed) + n as u64;
    Ok(Json(json!({ "imported": n, "totalImported": total })))
}
