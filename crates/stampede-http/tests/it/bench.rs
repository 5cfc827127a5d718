//! Throughput probe (ignored by default; run in release):
//! `cargo test -p stampede-http --release --test it -- --ignored bench --nocapture`

use std::time::Instant;

use crate::{client, get, run, server};

/// CPU time of the calling thread, from /proc (Linux).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "benchmark"]
fn bench_keep_alive_throughput() {
    let srv = server::start();
    let vus = 50;
    let per_vu = 400;
    run(async {
        let url = srv.url("/bytes/16");
        let (t0, cpu0) = (Instant::now(), thread_cpu_ns());
        let handles: Vec<_> = (0..vus)
            .map(|_| {
                let c = client();
                let url = url.clone();
                tokio::task::spawn_local(async move {
                    for _ in 0..per_vu {
                        let res = c.request(get(url.clone())).await;
                        assert_eq!(res.status, 200, "{:?}", res.error);
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.expect("join");
        }
        let n = (vus * per_vu) as f64;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = (thread_cpu_ns() - cpu0) as f64 / 1e9;
        println!(
            "{n} requests, {vus} clients: {:.0} req/s wall, client CPU {:.1} us/request",
            n / wall,
            cpu / n * 1e6
        );
    });
}
