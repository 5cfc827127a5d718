//! Products, orders and the flash sale, reports, rate limits.

use std::time::{Duration, Instant};

use serde_json::json;
use stampede_target::{fixtures, TierLimits};

use crate::client::{get, get_auth, post_json, req, Conn};
use crate::{server, server_with};

#[tokio::test]
async fn product_pagination_search_and_lookup() {
    let s = server();
    let a = s.addr();
    let v = get(a, "/api/products?page=2&limit=10").await.json();
    assert_eq!(
        (v["page"].as_u64(), v["limit"].as_u64(), v["total"].as_u64()),
        (Some(2), Some(10), Some(1000))
    );
    assert_eq!(v["totalPages"], 100);
    let ids: Vec<u64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (11..=20).collect::<Vec<_>>());
    let v = get(a, "/api/products?page=0&limit=1000").await.json();
    assert_eq!(
        (v["page"].as_u64(), v["data"].as_array().unwrap().len()),
        (Some(1), 100)
    );
    let v = get(a, "/api/products?page=999").await.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 0);

    let v = get(a, "/api/products/search?q=lamp&limit=100").await.json();
    let hits = v["data"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() as u64 <= v["total"].as_u64().unwrap());
    assert!(hits
        .iter()
        .all(|p| p["name"].as_str().unwrap().to_lowercase().contains("lamp")));
    let v = get(a, "/api/products/search?q=zzzz-nothing").await.json();
    assert_eq!(v["total"], 0);

    assert_eq!(get(a, "/api/products/7").await.json()["id"], 7);
    assert_eq!(get(a, "/api/products/0").await.status, 404);
    assert_eq!(get(a, "/api/products/1001").await.status, 404);
    let v = get(
        a,
        &format!("/api/products/{}", fixtures::FLASH_SALE_PRODUCT_ID),
    )
    .await
    .json();
    assert_eq!(v["stock"], 100);
}

#[tokio::test]
async fn flash_sale_sells_exactly_the_stock() {
    let s = server_with(|c| c.flash_sale_stock = 25);
    let a = s.addr();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            tokio::spawn(async move {
                let body = json!({"productId": fixtures::FLASH_SALE_PRODUCT_ID, "quantity": 1});
                post_json(a, "/api/orders", &body).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 25);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 15);
    // The seed's shape: {items: [{product_id, quantity}]}.
    let body = json!({"items": [{"product_id": fixtures::FLASH_SALE_PRODUCT_ID, "quantity": 1}]});
    let r = post_json(a, "/api/orders", &body).await;
    assert_eq!(r.status, 409);
    assert!(r.json()["error"].as_str().unwrap().contains("sold out"));
    let v = get(a, "/api/flash-sale").await.json();
    assert_eq!(
        (v["stock"].as_u64(), v["sold"].as_u64()),
        (Some(0), Some(25))
    );
    // Ordinary products always sell.
    for _ in 0..3 {
        let r = post_json(a, "/api/orders", &json!({"productId": 5, "quantity": 2})).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["items"][0]["quantity"], 2);
    }
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(
        req(a, "POST", "/api/orders", &form, b"productId=9&quantity=1")
            .await
            .status,
        201
    );
    assert_eq!(
        post_json(a, "/api/orders", &json!({"productId": 5, "quantity": 0}))
            .await
            .status,
        400
    );
    assert_eq!(
        post_json(a, "/api/orders", &json!({"productId": 99999}))
            .await
            .status,
        404
    );
    assert_eq!(
        post_json(a, "/api/orders", &json!({"quantity": 1}))
            .await
            .status,
        400
    );
    // Restock through the reset hook.
    assert_eq!(req(a, "POST", "/_target/reset", &[], b"").await.status, 200);
    let body = json!({"productId": fixtures::FLASH_SALE_PRODUCT_ID});
    assert_eq!(post_json(a, "/api/orders", &body).await.status, 201);
}

#[tokio::test]
async fn slow_report_and_bulk_endpoints() {
    let s = server_with(|c| {
        c.report_delay_min = Duration::from_millis(60);
        c.report_delay_max = Duration::from_millis(90);
    });
    let a = s.addr();
    let start = Instant::now();
    let r = get(a, "/api/reports/inventory").await;
    let took = start.elapsed();
    assert_eq!(r.status, 200);
    assert!(
        took >= Duration::from_millis(60) && took < Duration::from_millis(250),
        "{took:?}"
    );
    assert_eq!(r.json()["totalProducts"], 1000);
    let r = post_json(
        a,
        "/api/bulk/import",
        &json!([{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]),
    )
    .await;
    assert_eq!((r.status, r.json()["imported"].as_u64()), (200, Some(3)));
    assert_eq!(
        post_json(a, "/api/bulk/import", &json!({"sku": "a"}))
            .await
            .status,
        400
    );
    let adj = json!({"adjustments": [{"productId": 1, "delta": 5}, {"productId": 2, "delta": -1}]});
    assert_eq!(
        post_json(a, "/api/inventory/adjustments", &adj)
            .await
            .json()["applied"],
        2
    );
    assert_eq!(get(a, "/api/analytics/inventory-summary").await.status, 200);
    assert_eq!(
        get(a, "/api/reports/order-details?include=all")
            .await
            .json()["include"],
        "all"
    );
}

#[tokio::test]
async fn tier_rate_limit_answers_429_with_retry_after() {
    let s = server_with(|c| {
        c.rate_limits = TierLimits {
            free: 5,
            starter: 50,
            professional: 0,
        }
    });
    let a = s.addr();
    let mut c = Conn::connect(a).await.unwrap();
    let auth = format!("Bearer {}", fixtures::FREE_TOKEN);
    let mut statuses = Vec::new();
    let mut last = None;
    let start = Instant::now();
    for _ in 0..10 {
        let h = [("Authorization", auth.as_str())];
        let r = c
            .request("GET", "/api/products?limit=1", &h, b"")
            .await
            .unwrap();
        statuses.push(r.status);
        last = Some(r);
    }
    // The bucket refills at 5/s while the burst runs (a slow machine may earn a token or two).
    let refill = (start.elapsed().as_secs_f64() * 5.0).ceil() as usize;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        ok >= 5 && ok <= 5 + refill && ok + limited == 10,
        "{statuses:?}"
    );
    assert_eq!(statuses[..5], [200; 5], "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    let r = last.unwrap();
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.header("x-ratelimit-reset").is_some());
    assert_eq!(s.stats().rate_limited, limited as u64);
    assert_eq!(s.stats().status(429), limited as u64);
    // Other routes and other tokens are not limited.
    assert_eq!(
        get_auth(a, "/auth/me", fixtures::FREE_TOKEN).await.status,
        200
    );
    for _ in 0..20 {
        assert_eq!(
            get_auth(a, "/api/products", fixtures::USER_TOKEN)
                .await
                .status,
            200
        );
        assert_eq!(
            get_auth(a, "/api/products", fixtures::PROFESSIONAL_TOKEN)
                .await
                .status,
            200
        );
    }
    // The bucket refills.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let r = get_auth(a, "/api/products", fixtures::FREE_TOKEN).await;
    assert_eq!(r.status, 200);
    assert!(r.header("x-ratelimit-remaining").is_some());
}
