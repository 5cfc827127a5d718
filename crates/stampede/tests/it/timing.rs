//! Reported timings against endpoints with known behaviour.

use crate::support::{run, script, target};

#[test]
fn delay_shows_in_waiting_and_duration() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { vus: 2, iterations: 20 };
export default function () { http.get(`${__ENV.BASE_URL}/delay/50`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let med = r.metric("http_req_duration", "med");
    let waiting = r.metric("http_req_waiting", "med");
    assert!((50.0..=53.0).contains(&med), "http_req_duration med {med}");
    assert!(
        (50.0..=53.0).contains(&waiting),
        "http_req_waiting med {waiting}"
    );
    assert!(r.metric("http_req_sending", "med") < 1.0);
}

#[test]
fn big_bodies_grow_receiving() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { Trend } from 'k6/metrics';
const small = new Trend('recv_small', true);
const big = new Trend('recv_big', true);
export const options = { vus: 1, iterations: 10 };
export default function () {
  small.add(http.get(`${__ENV.BASE_URL}/bytes/100`).timings.receiving);
  big.add(http.get(`${__ENV.BASE_URL}/bytes/512000`).timings.receiving);
}
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let small = r.metric("recv_small", "avg");
    let big = r.metric("recv_big", "avg");
    assert!(
        big > small * 3.0 && big > 0.05,
        "receiving small {small} ms, big {big} ms"
    );
    assert!(r.metric("data_received", "count") > 10.0 * 512000.0);
}
