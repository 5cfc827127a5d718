//! WebSocket chat between two clients.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use crate::server;

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("stream open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).expect("JSON");
        }
    }
}

/// Skips frames until one of `kind` arrives.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

#[tokio::test]
async fn chat_broadcasts_within_a_room() {
    let s = server();
    let url = |q: &str| format!("ws://{}/ws/chat?{q}", s.addr());
    let (mut alice, _) = connect_async(url("room=r1&user=alice"))
        .await
        .expect("connect alice");
    let (mut bob, _) = connect_async(url("room=r1")).await.expect("connect bob");
    let (mut carol, _) = connect_async(url("room=elsewhere&user=carol"))
        .await
        .expect("connect carol");

    send(
        &mut bob,
        json!({"type": "join", "room": "r1", "user": "bob"}),
    )
    .await;
    let ack = next_of(&mut bob, "ack").await;
    assert_eq!(
        (ack["ref"].as_str(), ack["members"].as_u64()),
        (Some("join"), Some(2))
    );
    assert_eq!(next_of(&mut alice, "join").await["user"], "bob");

    send(&mut alice, json!({"type": "typing"})).await;
    assert_eq!(next_of(&mut bob, "typing").await["user"], "alice");

    send(&mut alice, json!({"type": "chat", "text": "hello bob"})).await;
    let got = next_of(&mut bob, "chat").await;
    assert_eq!(
        (
            got["user"].as_str(),
            got["text"].as_str(),
            got["room"].as_str()
        ),
        (Some("alice"), Some("hello bob"), Some("r1"))
    );
    // Alice gets her own message back (the broadcast) and an ack, in either order; no typing echo.
    let mut kinds = vec![];
    for _ in 0..2 {
        let v = next_json(&mut alice).await;
        assert_ne!(v["type"], "typing");
        kinds.push(v["type"].as_str().unwrap().to_string());
    }
    kinds.sort();
    assert_eq!(kinds, ["ack", "chat"]);

    send(&mut alice, json!({"type": "bogus"})).await;
    assert_eq!(next_json(&mut alice).await["type"], "error");
    alice.send(Message::text("not json")).await.unwrap();
    assert_eq!(next_json(&mut alice).await["type"], "error");

    // WebSocket-level ping.
    alice
        .send(Message::Ping(b"p".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Ok(Message::Pong(p))) = alice.next().await {
                return p;
            }
        }
    })
    .await
    .expect("pong");
    assert_eq!(&pong[..], b"p");

    // Carol, in another room, saw none of it.
    send(&mut carol, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut carol).await["type"], "pong");

    alice.close(None).await.unwrap();
    assert_eq!(next_of(&mut bob, "leave").await["user"], "alice");
    let st = s.stats();
    assert_eq!(st.ws_connections, 3);
    assert!(
        st.ws_messages_received >= 6 && st.ws_messages_sent >= 8,
        "{st:?}"
    );
    assert_eq!(st.route("GET /ws/chat"), 3);
    assert_eq!(st.status(101), 3);
}
