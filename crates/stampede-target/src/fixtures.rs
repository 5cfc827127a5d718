//! The data every target server starts with: accounts, fixed tokens, product ids.
//!
//! | account | password | notes |
//! | --- | --- | --- |
//! | `user1@example.com` .. `userN@example.com` | `password123` | N = [`crate::TargetConfig::seed_users`] (100), role `customer` |
//! | `free@example.com`, `free-tier@example.com` | `password123` | tier `free` |
//! | `starter@example.com`, `starter-tier@example.com` | `password123` | tier `starter` |
//! | `professional@example.com`, `pro-tier@example.com` | `password123` | tier `professional` |
//! | `loadtest@example.com` | `LoadTest123!` | role `customer` |
//!
//! Fixed bearer tokens that never expire: [`FREE_TOKEN`], [`STARTER_TOKEN`],
//! [`PROFESSIONAL_TOKEN`] (the tier accounts) and [`USER_TOKEN`] (`user1@example.com`).
//! Tokens from `POST /auth/login` are signed with a per-process secret and stay valid until the
//! server stops.

/// Password of every seeded `userN@example.com` and tier account.
pub const SEED_PASSWORD: &str = "password123";
/// Email of the seeded free-tier account.
pub const FREE_EMAIL: &str = "free@example.com";
/// Email of the seeded starter-tier account.
pub const STARTER_EMAIL: &str = "starter@example.com";
/// Email of the seeded professional-tier account.
pub const PROFESSIONAL_EMAIL: &str = "professional@example.com";
/// Fixed bearer token of the free-tier account.
pub const FREE_TOKEN: &str = "free-tier-token";
/// Fixed bearer token of the starter-tier account.
pub const STARTER_TOKEN: &str = "starter-tier-token";
/// Fixed bearer token of the professional-tier account.
pub const PROFESSIONAL_TOKEN: &str = "professional-tier-token";
/// Fixed bearer token of `user1@example.com` (no tier, never rate limited).
pub const USER_TOKEN: &str = "user-token";
/// Email of the account the seeds' `TEST_USERNAME` defaults to.
pub const LOADTEST_EMAIL: &str = "loadtest@example.com";
/// Password of [`LOADTEST_EMAIL`].
pub const LOADTEST_PASSWORD: &str = "LoadTest123!";
/// Id of the limited-stock product of the flash sale (`POST /api/orders`).
pub const FLASH_SALE_PRODUCT_ID: &str = "flash-sale-product-001";
/// Ordinary products have ids `1..=PRODUCT_COUNT`.
pub const PRODUCT_COUNT: u64 = 1000;
/// Service providers have ids `1..=PROVIDER_COUNT`.
pub const PROVIDER_COUNT: u64 = 500;
/// Conversations have ids `1..=CONVERSATION_COUNT`.
pub const CONVERSATION_COUNT: u64 = 50;

/// Email of the n-th seeded user (`user{n}@example.com`, n from 1).
pub fn seeded_user_email(n: u32) -> String {
    format!("user{n}@example.com")
}
