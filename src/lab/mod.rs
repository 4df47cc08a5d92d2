//! The lab: a real OAuth 2.0 / OpenID Connect authorization server and a demo client,
//! secure by default, with switchable weaknesses (`--weak NAME`).
//!
//! Everything is in memory and bound to 127.0.0.1.

mod app;
mod jwt;
mod pages;
mod server;
mod store;
pub mod weakness;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::oneshot;
use url::Url;

pub use weakness::{Weakness, Weaknesses};

use crate::crypto::random_token;
use crate::target::{AuthMethod, ClientSpec, TargetSpec};

/// Scopes the lab knows; any other is `invalid_scope`.
pub const SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

#[derive(Debug, Clone)]
pub struct LabClient {
    pub id: String,
    pub name: String,
    pub secret: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LabUser {
    pub username: String,
    pub password: String,
    pub name: String,
    pub email: String,
}

/// Who is registered at the lab. `{base}` in a redirect URI stands for the lab's URL.
#[derive(Debug, Clone)]
pub struct Registry {
    pub clients: Vec<LabClient>,
    pub user: LabUser,
}

pub const DEMO_CLIENT_ID: &str = "lab-basic";
pub const POST_CLIENT_ID: &str = "lab-post";
pub const PUBLIC_CLIENT_ID: &str = "lab-public";

impl Registry {
    /// Three clients (basic, post, public) and one user, with fresh random secrets.
    pub fn generated() -> Self {
        Registry {
            clients: vec![
                LabClient {
                    id: DEMO_CLIENT_ID.into(),
                    name: "oauthprobe demo app".into(),
                    secret: Some(random_token(24)),
                    auth_method: AuthMethod::ClientSecretBasic,
                    // Two, so that the token endpoint's redirect_uri binding can be told apart
                    // from a check against the registered list.
                    redirect_uris: vec!["{base}/app/callback".into(), "{base}/app/other".into()],
                },
                LabClient {
                    id: POST_CLIENT_ID.into(),
                    name: "Partner service".into(),
                    secret: Some(random_token(24)),
                    auth_method: AuthMethod::ClientSecretPost,
                    redirect_uris: vec![
                        "{base}/partner/callback".into(),
                        "{base}/partner/other".into(),
                    ],
                },
                LabClient {
                    id: PUBLIC_CLIENT_ID.into(),
                    name: "Mobile app".into(),
                    secret: None,
                    auth_method: AuthMethod::None,
                    redirect_uris: vec!["{base}/native/callback".into()],
                },
            ],
            user: LabUser {
                username: "alice".into(),
                password: random_token(12),
                name: "Alice Example".into(),
                email: "alice@example.test".into(),
            },
        }
    }

    /// Loads clients and the user from a TOML file; secrets left out are generated.
    pub fn load(path: &Path) -> Result<Self, crate::target::ConfigError> {
        let err = |line: Option<usize>, message: String| crate::target::ConfigError {
            path: path.to_path_buf(),
            line,
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
        let line_of = |offset: usize| crate::target::line_of(&text, offset);
        let file: RegistryFile = toml::from_str(&text).map_err(|e| {
            err(
                e.span().map(|s| line_of(s.start)),
                e.message().trim().to_string(),
            )
        })?;
        let mut clients = Vec::new();
        for c in file.client {
            let span = c.span();
            let c = c.into_inner();
            let auth_method = match AuthMethod::parse(&c.auth_method) {
                Some(m) => m,
                None => {
                    return Err(err(
                        Some(line_of(span.start)),
                        format!(
                            "client `{}`: auth_method `{}` is not client_secret_basic, client_secret_post or none",
                            c.id, c.auth_method
                        ),
                    ));
                }
            };
            if c.redirect_uris.is_empty() {
                return Err(err(
                    Some(line_of(span.start)),
                    format!("client `{}` has no redirect_uris", c.id),
                ));
            }
            let secret = match auth_method {
                AuthMethod::None => None,
                _ => Some(c.secret.unwrap_or_else(|| random_token(24))),
            };
            clients.push(LabClient {
                name: c.name.unwrap_or_else(|| c.id.clone()),
                id: c.id,
                secret,
                auth_method,
                redirect_uris: c.redirect_uris,
            });
        }
        if clients.is_empty() {
            return Err(err(None, "no [[client]] is defined".into()));
        }
        let u = file.user;
        Ok(Registry {
            clients,
            user: LabUser {
                password: u.password.unwrap_or_else(|| random_token(12)),
                name: u.name.unwrap_or_else(|| u.username.clone()),
                email: u
                    .email
                    .unwrap_or_else(|| format!("{}@example.test", u.username)),
                username: u.username,
            },
        })
    }

    fn resolve(mut self, base: &str) -> Self {
        for c in &mut self.clients {
            for uri in &mut c.redirect_uris {
                *uri = uri.replace("{base}", base);
            }
        }
        self
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    client: Vec<toml::Spanned<ClientFile>>,
    user: UserFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    id: String,
    name: Option<String>,
    secret: Option<String>,
    auth_method: String,
    redirect_uris: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    username: String,
    password: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    /// 0 picks a free port.
    pub port: u16,
    pub weaknesses: Weaknesses,
    /// Delay added to every response, to stand in for a remote server.
    pub latency: Duration,
    /// Clients and user; generated when absent.
    pub registry: Option<Registry>,
    /// How long a code stays redeemable; `None` is the lab's 60 s. Tests set zero to see expiry.
    pub code_lifetime: Option<Duration>,
    /// The login page carries no form; a script builds it (only a real browser can sign in).
    pub scripted_login: bool,
    /// Wraps every route: the hostile-server tests put a misbehaving server's faults here.
    pub layer: Option<LabLayer>,
}

/// A function from the lab's router to the router served.
#[derive(Clone)]
pub struct LabLayer(pub Arc<dyn Fn(axum::Router) -> axum::Router + Send + Sync>);

impl std::fmt::Debug for LabLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LabLayer")
    }
}

/// A lab serving on 127.0.0.1 until `shutdown` (or drop).
pub struct RunningLab {
    base_url: Url,
    issuer: String,
    registry: Registry,
    weaknesses: Weaknesses,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    callback_hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl RunningLab {
    /// How many requests reached the demo app's redirect_uri (`/app/callback`).
    pub fn callback_hits(&self) -> usize {
        self.callback_hits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The issuer identifier: the base URL without the trailing slash.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn user(&self) -> &LabUser {
        &self.registry.user
    }

    pub fn clients(&self) -> &[LabClient] {
        &self.registry.clients
    }

    pub fn client(&self, id: &str) -> Option<&LabClient> {
        self.registry.clients.iter().find(|c| c.id == id)
    }

    pub fn weaknesses(&self) -> &Weaknesses {
        &self.weaknesses
    }

    /// A target file describing this lab, for the scanner or any other tool.
    pub fn target_file(&self) -> String {
        let by_method = |m: AuthMethod| self.registry.clients.iter().find(|c| c.auth_method == m);
        fn spec(c: &LabClient) -> ClientSpec<'_> {
            ClientSpec {
                id: &c.id,
                secret: c.secret.as_deref(),
                auth_method: c.auth_method,
                redirect_uris: c.redirect_uris.iter().map(String::as_str).collect(),
                scope: "openid profile",
            }
        }
        let confidential: Vec<&LabClient> = self
            .registry
            .clients
            .iter()
            .filter(|c| c.auth_method != AuthMethod::None)
            .collect();
        let first = by_method(AuthMethod::ClientSecretBasic).or(confidential.first().copied());
        let second = confidential
            .iter()
            .copied()
            .find(|c| Some(c.id.as_str()) != first.map(|f| f.id.as_str()));
        let public = by_method(AuthMethod::None);
        let Some(first) = first else {
            return "# this lab has no confidential client, so no target file can describe it\n"
                .into();
        };
        TargetSpec {
            name: "lab",
            issuer: &self.issuer,
            client: spec(first),
            second_client: second.map(spec),
            public_client: public.map(spec),
            username: &self.registry.user.username,
            password: &self.registry.user.password,
        }
        .render()
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningLab {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the lab on 127.0.0.1 (never another address).
pub async fn start(opts: LabOptions) -> std::io::Result<RunningLab> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await?;
    let addr = listener.local_addr()?;
    let issuer = format!("http://{addr}");
    let base_url = Url::parse(&format!("{issuer}/")).map_err(std::io::Error::other)?;
    let registry = opts
        .registry
        .unwrap_or_else(Registry::generated)
        .resolve(&issuer);
    let mut lab = server::Lab::new(
        issuer.clone(),
        registry.clone(),
        opts.weaknesses.clone(),
        opts.code_lifetime.unwrap_or(store::CODE_LIFETIME),
    );
    lab.scripted_login = opts.scripted_login;
    let callback_hits = lab.callback_hits.clone();
    let state = Arc::new(lab);
    let router = server::router(state, opts.latency);
    let router = match &opts.layer {
        Some(LabLayer(wrap)) => wrap(router),
        None => router,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(RunningLab {
        base_url,
        issuer,
        registry,
        weaknesses: opts.weaknesses,
        addr,
        stop: Some(stop),
        task: Some(task),
        callback_hits,
    })
}
