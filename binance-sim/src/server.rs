//! The accept loop.
//!
//! We do not use `axum::serve` because the `drop_connection` fault must
//! close a TCP connection without writing a response. Each connection gets a
//! [`ConnCtx`] in its requests' extensions carrying the peer address (the
//! rate limiter counts per IP) and a "kill switch" that, when pulled, drops
//! the connection's future and with it the socket.

use crate::Shared;
use axum::Router;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt;

/// Per-connection context, inserted into every request's extensions.
#[derive(Debug, Clone)]
pub struct ConnCtx {
    pub peer: SocketAddr,
    kill: Arc<Mutex<Option<oneshot::Sender<()>>>>,
}

impl ConnCtx {
    /// Closes the connection without a response.
    pub fn kill(&self) {
        if let Some(tx) = crate::lock(&self.kill).take() {
            let _ = tx.send(());
        }
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/__sim", crate::control::router())
        .fallback(crate::api::handle)
        .with_state(shared)
}

pub async fn serve(listener: TcpListener, router: Router, mut shutdown: oneshot::Receiver<()>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let router = router.clone();
                conns.spawn(async move {
                    let (kill_tx, kill_rx) = oneshot::channel();
                    let ctx = ConnCtx { peer, kill: Arc::new(Mutex::new(Some(kill_tx))) };
                    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(ctx.clone());
                        router.clone().oneshot(req.map(axum::body::Body::new))
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = kill_rx => {}
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}
