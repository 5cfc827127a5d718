//! Acceptance tests for the phase timings.

use std::time::Duration;

use stampede_http::Timings;

use crate::{client, get, run, server};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn show(label: &str, t: &Timings) {
    println!(
        "{label}: blocked={:.3} connecting={:.3} tls={:.3} sending={:.3} waiting={:.3} receiving={:.3} duration={:.3} (ms)",
        ms(t.blocked),
        ms(t.connecting),
        ms(t.tls_handshaking),
        ms(t.sending),
        ms(t.waiting),
        ms(t.receiving),
        ms(t.duration)
    );
}

/// Median of `v`.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn waiting_is_the_server_delay() {
    let srv = server::start();
    run(async {
        let c = client();
        let mut waits = Vec::new();
        let mut durations = Vec::new();
        let mut sendings = Vec::new();
        for i in 0..7 {
            let res = c.request(get(srv.url("/delay/50"))).await;
            assert_eq!(res.status, 200, "{:?}", res.error);
            let t = res.hops[0].timings;
            show(&format!("delay/50 #{i}"), &t);
            assert_eq!(t.duration, t.sending + t.waiting + t.receiving);
            // Loose bounds per sample (the machine is shared); the medians
            // below hold the acceptance range.
            assert!(ms(t.sending) < 5.0, "sending {t:?}");
            assert!(ms(t.receiving) < 5.0, "receiving {t:?}");
            assert!((50.0..80.0).contains(&ms(t.waiting)), "waiting {t:?}");
            waits.push(ms(t.waiting));
            durations.push(ms(t.duration));
            sendings.push(ms(t.sending));
        }
        let (w, d) = (median(waits), median(durations));
        println!("median waiting {w:.3} ms, median duration {d:.3} ms");
        assert!((50.0..=53.0).contains(&w), "median waiting {w}");
        assert!((50.0..=53.0).contains(&d), "median duration {d}");
        let sending = median(sendings);
        assert!(sending < 1.0, "median sending {sending}");
    });
}

#[test]
fn receiving_grows_with_a_slow_body() {
    let srv = server::start();
    run(async {
        let res = client().request(get(srv.url("/stream"))).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert_eq!(res.body.len(), 500 * 1024);
        let t = res.hops[0].timings;
        show("stream 500KiB", &t);
        // Nine 20 ms gaps between the chunks.
        assert!(ms(t.receiving) >= 170.0, "receiving {t:?}");
        assert!(ms(t.waiting) < 20.0, "waiting {t:?}");
        assert!(res.hops[0].bytes_received > 500 * 1024);
    });
}

#[test]
fn reused_connection_has_no_connecting_time() {
    let srv = server::start();
    run(async {
        let c = client();
        let first = c.request(get(srv.url("/echo"))).await;
        let second = c.request(get(srv.url("/echo"))).await;
        let (a, b) = (first.hops[0].timings, second.hops[0].timings);
        show("first", &a);
        show("second", &b);
        assert!(a.connecting > Duration::ZERO);
        assert_eq!(b.connecting, Duration::ZERO);
        assert_eq!(b.tls_handshaking, Duration::ZERO);
        assert!(ms(b.blocked) < 1.0);
    });
    assert_eq!(srv.connections(), 1);
}
