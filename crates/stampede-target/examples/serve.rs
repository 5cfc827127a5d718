//! Runs the target server in the foreground: `cargo run -p stampede-target --example serve -- 3000`.
//! Knobs come from the `STAMPEDE_TARGET_*` environment variables. Stops on Ctrl-C.

use stampede_target::{serve, TargetConfig};

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let config = TargetConfig::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!(
            "stampede-target listening on http://{}",
            listener.local_addr()?
        );
        serve(listener, config, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}
