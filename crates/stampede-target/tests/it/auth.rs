//! Signup, login, me.

use serde_json::json;
use stampede_target::fixtures;

use crate::client::{get, get_auth, login, post_json, req};
use crate::server;

#[tokio::test]
async fn signup_login_me() {
    let s = server();
    let a = s.addr();
    let body = json!({"email": "New@Example.com", "password": "TestPass123!", "name": "New", "role": "customer"});
    let r = post_json(a, "/auth/signup", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let user = r.json();
    assert_eq!(user["email"], "new@example.com");
    assert!(user["id"].as_u64().unwrap() > 0);
    assert_eq!(post_json(a, "/auth/signup", &body).await.status, 409);

    let token = login(a, "new@example.com", "TestPass123!").await;
    let me = get_auth(a, "/auth/me", &token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["email"], "new@example.com");

    let r = post_json(
        a,
        "/auth/login",
        &json!({"email": "new@example.com", "password": "wrong!!"}),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = post_json(
        a,
        "/auth/login",
        &json!({"email": "ghost@example.com", "password": "x"}),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = post_json(a, "/auth/refresh", &json!({})).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn seeded_accounts_and_fixed_tokens() {
    let s = server();
    let a = s.addr();
    let token = login(a, "user100@example.com", fixtures::SEED_PASSWORD).await;
    assert_eq!(
        get_auth(a, "/auth/me", &token).await.json()["email"],
        "user100@example.com"
    );
    login(a, fixtures::LOADTEST_EMAIL, fixtures::LOADTEST_PASSWORD).await;
    for email in [
        "free-tier@example.com",
        "starter-tier@example.com",
        "pro-tier@example.com",
    ] {
        let t = login(a, email, fixtures::SEED_PASSWORD).await;
        assert!(get_auth(a, "/auth/me", &t).await.json()["tier"].is_string());
    }
    let me = get_auth(a, "/auth/me", fixtures::PROFESSIONAL_TOKEN)
        .await
        .json();
    assert_eq!(
        (me["email"].as_str(), me["tier"].as_str()),
        (Some("professional@example.com"), Some("professional"))
    );
    assert_eq!(
        get_auth(a, "/auth/me", fixtures::USER_TOKEN).await.json()["email"],
        "user1@example.com"
    );
}

#[tokio::test]
async fn signup_validation() {
    let s = server();
    let a = s.addr();
    for body in [
        json!({"password": "secret123"}),
        json!({"email": "a@b.c"}),
        json!({"email": "not-an-email", "password": "secret123"}),
        json!({"email": "a@b.c", "password": "123"}),
        json!({"email": "a@b.c", "password": "secret123", "tier": "platinum"}),
        json!(["email"]),
        json!({"email": 5, "password": "secret123"}),
    ] {
        assert_eq!(
            post_json(a, "/auth/signup", &body).await.status,
            400,
            "{body}"
        );
    }
    assert_eq!(
        req(a, "POST", "/auth/signup", &[], b"{not json")
            .await
            .status,
        400
    );
    assert_eq!(req(a, "POST", "/auth/login", &[], b"").await.status, 400);
    assert_eq!(get(a, "/auth/me").await.status, 401);
    assert_eq!(get_auth(a, "/auth/me", "stk_1_00_00").await.status, 401);
    let r = req(
        a,
        "GET",
        "/auth/me",
        &[("Authorization", "Basic dXNlcjpwdw==")],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
}
