//! Jobs and quotes, providers, messaging, metrics and stats.

use serde_json::json;
use stampede_target::fixtures;

use crate::client::{get, get_auth, login, post_auth, post_json, req};
use crate::{server, server_with};

#[tokio::test]
async fn job_quote_accept_flow_and_pagination() {
    let s = server();
    let a = s.addr();
    let owner = login(a, "user3@example.com", fixtures::SEED_PASSWORD).await;
    let provider = login(a, "user4@example.com", fixtures::SEED_PASSWORD).await;
    assert_eq!(
        post_json(a, "/jobs", &json!({"title": "x"})).await.status,
        401
    );
    assert_eq!(
        post_auth(a, "/jobs", &owner, &json!({"description": "no title"}))
            .await
            .status,
        400
    );
    let mut ids = Vec::new();
    for i in 0..12 {
        let r = post_auth(
            a,
            "/jobs",
            &owner,
            &json!({"title": format!("Fix sink {i}"), "description": "leak"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_u64().unwrap());
    }
    let v = get_auth(a, "/jobs/mine?page=2&limit=5", &owner)
        .await
        .json();
    assert_eq!(
        (v["total"].as_u64(), v["totalPages"].as_u64()),
        (Some(12), Some(3))
    );
    let page: Vec<u64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_u64().unwrap())
        .collect();
    assert_eq!(page, ids[2..7].iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(
        get_auth(a, "/jobs/mine", &provider).await.json()["total"],
        0
    );

    let job = ids[0];
    let r = post_auth(
        a,
        &format!("/jobs/{job}/quotes"),
        &provider,
        &json!({"amount": 120, "message": "tomorrow"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let qid = r.json()["id"].as_u64().unwrap();
    assert_eq!(
        post_auth(
            a,
            &format!("/jobs/{job}/quotes"),
            &provider,
            &json!({"amount": "x"})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        post_auth(a, "/jobs/99999/quotes", &provider, &json!({"amount": 1}))
            .await
            .status,
        404
    );
    let accept = format!("/jobs/{job}/quotes/{qid}/accept");
    assert_eq!(
        post_auth(a, &accept, &provider, &json!({})).await.status,
        403
    );
    let r = post_auth(a, &accept, &owner, &json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (
            r.json()["quote"]["status"].as_str(),
            r.json()["job"]["status"].as_str()
        ),
        (Some("accepted"), Some("assigned"))
    );
    assert_eq!(
        post_auth(
            a,
            &format!("/jobs/{job}/quotes"),
            &provider,
            &json!({"amount": 1})
        )
        .await
        .status,
        409
    );
    assert_eq!(
        get_auth(a, &format!("/jobs/{job}"), &owner).await.json()["quotes"][0]["id"],
        qid
    );
    assert_eq!(s.stats().route("POST /jobs/{id}/quotes/{qid}/accept"), 2);
}

#[tokio::test]
async fn provider_search_and_near() {
    let s = server();
    let a = s.addr();
    let v = get(a, "/providers/search?q=plumbing").await.json();
    assert!(v["total"].as_u64().unwrap() > 0);
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["category"] == "plumbing"
            || p["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("plumbing")));
    let v = get(a, "/providers/near?lat=40.7128&lng=-74.0060&radius=30")
        .await
        .json();
    let data = v["data"].as_array().unwrap();
    assert!(!data.is_empty());
    let d: Vec<f64> = data
        .iter()
        .map(|p| p["distanceKm"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]) && d.iter().all(|x| *x <= 30.0));
    assert_eq!(get(a, "/providers/near?lat=abc&lng=1").await.status, 400);
    assert_eq!(get(a, "/providers/near?lat=91&lng=1").await.status, 400);
    assert_eq!(get(a, "/providers/near").await.status, 400);
}

#[tokio::test]
async fn conversations_and_analytics() {
    let s = server();
    let a = s.addr();
    let t = login(a, "user5@example.com", fixtures::SEED_PASSWORD).await;
    assert_eq!(get(a, "/messages/conversations").await.status, 401);
    let r = post_auth(
        a,
        "/messages/send",
        &t,
        &json!({"content": "Service at 10"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let conv = r.json()["conversationId"].as_u64().unwrap();
    assert_eq!(
        post_auth(a, "/messages/send", &t, &json!({"nothing": 1}))
            .await
            .status,
        400
    );
    let v = get_auth(a, "/messages/conversations?limit=5", &t)
        .await
        .json();
    assert_eq!(
        (v["total"].as_u64(), v["data"].as_array().unwrap().len()),
        (Some(50), 5)
    );
    assert_eq!(v["data"][0]["id"].as_u64(), Some(conv), "most recent first");
    let r = post_auth(
        a,
        &format!("/messages/conversations/{conv}/reply"),
        &t,
        &json!({"content": "See you"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let v = get_auth(a, &format!("/messages/conversations/{conv}"), &t)
        .await
        .json();
    assert_eq!(
        v["messages"].as_array().unwrap().last().unwrap()["content"],
        "See you"
    );
    let r = post_auth(
        a,
        &format!("/messages/conversations/{conv}/read"),
        &t,
        &json!({}),
    )
    .await;
    assert_eq!(r.json()["unreadCount"], 0);
    assert_eq!(
        get_auth(a, "/messages/conversations/999", &t).await.status,
        404
    );
    let v = get_auth(a, "/analytics/summary", &t).await.json();
    assert!(v["totalMessages"].as_u64().unwrap() >= 152);
}

#[tokio::test]
async fn metrics_health_and_stats() {
    let s = server();
    let a = s.addr();
    assert_eq!(get(a, "/health").await.json()["status"], "ok");
    assert_eq!(get(a, "/api/health").await.json()["status"], "ok");
    get(a, "/delay/1").await;
    let v = get(a, "/api/metrics").await.json();
    assert!(v["process"]["memory_usage_mb"].as_f64().unwrap() > 1.0);
    let text = get(a, "/metrics").await.text();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/delay/{ms}",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_request_duration_seconds_bucket{route="/delay/{ms}",le="+Inf"} 1"#)
    );
    assert!(text.contains("process_resident_memory_bytes "));
    let stats = get(a, "/_target/stats").await.json();
    assert_eq!(stats["routes"]["GET /delay/{ms}"], 1);
    assert_eq!(
        stats["total_requests"], 5,
        "/_target/* is not counted: {stats}"
    );
    let st = s.stats();
    assert_eq!(st.total_requests, 5);
    assert_eq!(st.status(200), 5);
    assert!(st.connections_accepted >= 6);
    req(a, "POST", "/_target/reset", &[], b"").await;
    assert_eq!(s.stats().total_requests, 0);
}

#[tokio::test]
async fn injected_latency_and_errors() {
    let s = server_with(|c| {
        c.latency = vec![stampede_target::RouteFault::new(
            "/health",
            std::time::Duration::from_millis(120),
        )];
        c.error_rate = vec![stampede_target::RouteFault::new("/api/orders", 1.0)];
        c.fault_status = 500;
    });
    let a = s.addr();
    let start = std::time::Instant::now();
    assert_eq!(get(a, "/health").await.status, 200);
    assert!(start.elapsed() >= std::time::Duration::from_millis(120));
    assert_eq!(
        post_json(a, "/api/orders", &json!({"productId": 1}))
            .await
            .status,
        500
    );
    assert_eq!(get(a, "/api/products").await.status, 200);
    assert_eq!(s.stats().faults_injected, 1);
}

#[tokio::test]
async fn h2c_prior_knowledge() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let s = server();
    let stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    for _ in 0..3 {
        let req = http::Request::get(format!("{}/health", s.base_url()))
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let res = send.send_request(req).await.unwrap();
        assert_eq!(res.version(), http::Version::HTTP_2);
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert!(body.starts_with(br#"{"status":"ok""#));
    }
}
