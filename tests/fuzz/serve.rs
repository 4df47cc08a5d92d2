//! A scripted server on 127.0.0.1 for the targets that go through the HTTP client: each case
//! sets the replies by path; a second listener is the canary that must hear nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use tokio::runtime::Runtime;

#[derive(Clone, Debug, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Script {
    replies: HashMap<String, Reply>,
}

pub struct Server {
    pub runtime: Runtime,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub canary: String,
    script: Arc<Mutex<Script>>,
    canary_hits: Arc<AtomicUsize>,
}

fn response(reply: &Reply) -> Response<Body> {
    let mut resp = Response::new(Body::from(reply.body.clone()));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (name, value) in &reply.headers {
        // What the HTTP stack cannot send, the fuzz case does not get to send either.
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

impl Server {
    pub fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let script: Arc<Mutex<Script>> = Arc::default();
        let canary_hits = Arc::new(AtomicUsize::new(0));
        let (base, canary) = runtime.block_on(async {
            let served = script.clone();
            let app = axum::Router::new().fallback(move |req: Request<Body>| {
                let served = served.clone();
                async move {
                    let path = req
                        .uri()
                        .path_and_query()
                        .map_or("/".to_string(), |p| p.path().to_string());
                    let reply = served
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .replies
                        .get(&path)
                        .cloned()
                        .unwrap_or(Reply {
                            status: 404,
                            ..Reply::default()
                        });
                    response(&reply)
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let addr = listener.local_addr().expect("its address");
            tokio::spawn(async move { axum::serve(listener, app).await });

            let hits = canary_hits.clone();
            let canary_app = axum::Router::new().fallback(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { "canary" }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let canary = listener.local_addr().expect("its address");
            tokio::spawn(async move { axum::serve(listener, canary_app).await });
            (format!("http://{addr}"), format!("http://{canary}"))
        });
        Server {
            runtime,
            base,
            canary,
            script,
            canary_hits,
        }
    }

    /// Replaces every reply; paths not named get a 404.
    pub fn script(&self, replies: Vec<(String, Reply)>) {
        let mut script = self.script.lock().unwrap_or_else(|e| e.into_inner());
        script.replies = replies.into_iter().collect();
    }

    pub fn canary_hits(&self) -> usize {
        self.canary_hits.load(Ordering::SeqCst)
    }

    /// `host:port` of the server and of the canary.
    pub fn hosts(&self) -> [String; 2] {
        [
            self.base.trim_start_matches("http://").to_string(),
            self.canary.trim_start_matches("http://").to_string(),
        ]
    }
}
