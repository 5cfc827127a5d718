//! The accept loop (TCP_NODELAY on every connection, HTTP/1.1 keep-alive and h2c through
//! hyper-util's auto builder) and [`TargetServer`], which runs it on its own thread.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::atomic::Ordering::Relaxed;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tower_service::Service;

use crate::app::{router, AppState};
use crate::{Stats, TargetConfig};

/// How long stopping waits for open requests to finish.
const DRAIN: Duration = Duration::from_secs(2);
/// Listen backlog: large, so that thousands of simultaneous connects are not dropped.
const BACKLOG: u32 = 8192;

/// Serves `config`'s target on `listener` until `shutdown` completes, then lets open requests
/// finish (up to 2 s) and closes WebSocket sessions. For `stampede serve-demo`.
pub async fn serve(
    listener: TcpListener,
    config: TargetConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_state(listener, Arc::new(AppState::new(config)), shutdown).await
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

pub(crate) async fn serve_state(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let app = router(state.clone());
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) if transient(&e) => continue,
                Err(_) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without it, small responses wait ~40 ms for delayed ACKs.
        let _ = stream.set_nodelay(true);
        state.stats.connections_accepted.fetch_add(1, Relaxed);
        let app = app.clone();
        let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().call(req)
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), svc)
            .into_owned();
        let conn = graceful.watch(conn);
        let state = state.clone();
        tokio::spawn(async move {
            let _ = conn.await;
            state.stats.connections_closed.fetch_add(1, Relaxed);
        });
    }
    drop(listener);
    state.shutdown.send_replace(true);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

/// Binds `127.0.0.1:port` with a large backlog (the default 128 drops connects when thousands
/// of VUs start at once), for [`serve`].
pub async fn bind(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(BACKLOG)
}

/// A target server running on a background thread with its own tokio runtime.
/// Stops on [`TargetServer::shutdown`] or when dropped.
pub struct TargetServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TargetServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TargetServer {
    /// Binds 127.0.0.1:port (0 = a free port), serves on a background thread with its own tokio
    /// runtime (`config.worker_threads` workers), and returns once listening.
    pub fn start(config: TargetConfig, port: u16) -> io::Result<TargetServer> {
        let workers = config.worker_threads.max(1);
        let state = Arc::new(AppState::new(config));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<SocketAddr>>();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        let thread = std::thread::Builder::new()
            .name("stampede-target".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .thread_name("stampede-target-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match bind(port).await.and_then(|l| Ok((l.local_addr()?, l))) {
                        Ok((addr, l)) => {
                            let _ = ready_tx.send(Ok(addr));
                            l
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = serve_state(listener, served, async {
                        let _ = stopped.await;
                    })
                    .await;
                });
                rt.shutdown_timeout(Duration::from_secs(1));
            })?;
        let addr = ready_rx
            .recv()
            .map_err(|_| io::Error::other("the target server thread ended before listening"))??;
        Ok(TargetServer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of the server-side counters.
    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    /// Stops accepting, lets open requests finish (up to 2 s), and joins the server thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
