//! The target file: what the scanner is pointed at (issuer, registered clients, the test user).
//!
//! Parsed in two stages: the raw TOML (`TargetFile`, with spans) is validated into a
//! `Target` whose URLs are parsed and whose secrets are resolved. Every error names the
//! file, the line and the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "none" => Some(AuthMethod::None),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: Option<Secret>,
    pub auth_method: AuthMethod,
    /// Exactly as registered: servers compare it as a string, so it is never re-serialised.
    /// The first of `redirect_uris`: the one every authorization request names.
    pub redirect_uri: String,
    pub redirect_url: Url,
    /// Every redirect URI registered for the client, `redirect_uri` first. The binding checks
    /// need a second one to tell "bound to the request" from "one of the registered".
    pub redirect_uris: Vec<String>,
    pub scope: String,
}

#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub authorization: Option<Url>,
    pub token: Option<Url>,
    pub userinfo: Option<Url>,
    pub revocation: Option<Url>,
    pub jwks: Option<Url>,
}

/// How the scanner finds its way through the target's login and consent pages.
#[derive(Debug, Clone, Default)]
pub struct LoginHints {
    pub username_field: Option<String>,
    pub password_field: Option<String>,
    pub form_selector: Option<String>,
    /// Text or name of the button that approves consent.
    pub approve_button: Option<String>,
}

/// How the scanner gets through the server's login and consent for each authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginMode {
    /// Reads the server's HTML pages and submits their forms itself (the default).
    Form,
    /// Drives headless Chromium through chromedriver, for pages built by JavaScript.
    Browser(BrowserSettings),
    /// Runs the user's program once per authorization request (`sh -c COMMAND`).
    Command(String),
    /// Prints the authorization URL and reads the URL the browser ended at from stdin.
    Manual,
}

impl LoginMode {
    pub fn name(&self) -> &'static str {
        match self {
            LoginMode::Form => "form",
            LoginMode::Browser(_) => "browser",
            LoginMode::Command(_) => "command",
            LoginMode::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrowserSettings {
    /// Chromium's binary; `None`: /usr/bin/chromium or `chromium` on PATH.
    pub chromium: Option<PathBuf>,
    /// chromedriver's binary; `None`: /usr/bin/chromedriver or `chromedriver` on PATH.
    pub chromedriver: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Login {
    pub mode: LoginMode,
    pub username: String,
    /// Empty when the mode does not need it (command and manual logins sign in on their own).
    pub password: Secret,
    pub hints: LoginHints,
    /// Origins besides the issuer's and its endpoints' where login pages live (a separate SSO host).
    pub extra_origins: Vec<Url>,
}

/// `[tls] ca_cert`: a file of roots to trust besides the built-in ones (a private CA). Only
/// named here; it is read when the HTTP client is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertSetting {
    /// Resolved against the target file's directory.
    pub path: PathBuf,
    /// `file:line` of the key, for errors.
    pub set_at: String,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub issuer: Url,
    pub endpoints: Endpoints,
    pub client: Client,
    pub second_client: Option<Client>,
    pub public_client: Option<Client>,
    pub login: Login,
    pub ca_cert: Option<CaCertSetting>,
}

impl Target {
    /// Every secret the target file holds, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![self.login.password.expose().to_string()];
        for c in self.clients() {
            if let Some(s) = &c.secret {
                out.push(s.expose().to_string());
            }
        }
        out.retain(|s| !s.is_empty());
        out
    }

    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        std::iter::once(&self.client)
            .chain(self.second_client.as_ref())
            .chain(self.public_client.as_ref())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    name: Option<String>,
    issuer: Spanned<String>,
    #[serde(default)]
    endpoints: EndpointsFile,
    client: Spanned<ClientFile>,
    second_client: Option<Spanned<ClientFile>>,
    public_client: Option<Spanned<ClientFile>>,
    login: Spanned<LoginFile>,
    #[serde(default)]
    tls: TlsFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    ca_cert: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EndpointsFile {
    authorization: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    userinfo: Option<Spanned<String>>,
    revocation: Option<Spanned<String>>,
    jwks: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    id: Spanned<String>,
    secret: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    auth_method: Option<Spanned<String>>,
    redirect_uri: Option<Spanned<String>>,
    redirect_uris: Option<Spanned<Vec<Spanned<String>>>>,
    scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginFile {
    mode: Option<Spanned<String>>,
    command: Option<Spanned<String>>,
    chromium: Option<String>,
    chromedriver: Option<String>,
    #[serde(default)]
    origins: Vec<Spanned<String>>,
    username: Spanned<String>,
    password: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    username_field: Option<String>,
    password_field: Option<String>,
    form_selector: Option<String>,
    approve_button: Option<String>,
}

/// The 1-based line of a byte offset in a file's text (toml gives spans, people read lines).
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    fn err<T>(&self, span: std::ops::Range<usize>, message: String) -> Result<T, ConfigError> {
        Err(ConfigError {
            path: self.path.to_path_buf(),
            line: Some(self.line_of(span.start)),
            message,
        })
    }

    fn url(&self, key: &str, value: &Spanned<String>) -> Result<Url, ConfigError> {
        match Url::parse(value.get_ref()) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(u),
            Ok(u) => self.err(
                value.span(),
                format!("`{key}`: scheme `{}` is not http or https", u.scheme()),
            ),
            Err(e) => self.err(
                value.span(),
                format!("`{key}`: `{}` is not a valid URL ({e})", value.get_ref()),
            ),
        }
    }

    fn secret(
        &self,
        table: &str,
        key: &str,
        inline: &Option<Spanned<String>>,
        env: &Option<Spanned<String>>,
        env_lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Secret>, ConfigError> {
        match (inline, env) {
            (Some(v), Some(_)) => self.err(
                v.span(),
                format!("`{table}.{key}` and `{table}.{key}_env` are both set; keep one"),
            ),
            (Some(v), None) => Ok(Some(Secret::new(v.get_ref().clone()))),
            (None, Some(name)) => match env_lookup(name.get_ref()) {
                Some(value) if !value.is_empty() => Ok(Some(Secret::new(value))),
                _ => self.err(
                    name.span(),
                    format!(
                        "`{table}.{key}_env` names the environment variable `{}`, which is not set or empty",
                        name.get_ref()
                    ),
                ),
            },
            (None, None) => Ok(None),
        }
    }

    fn login_mode(&self, file: &Spanned<LoginFile>) -> Result<LoginMode, ConfigError> {
        let l = file.get_ref();
        let mode_name = l.mode.as_ref().map_or("form", |m| m.get_ref().as_str());
        let mode_span = l.mode.as_ref().map_or(file.span(), |m| m.span());
        if let (Some(cmd), false) = (&l.command, mode_name == "command") {
            return self.err(
                cmd.span(),
                format!("`login.command` is set but `login.mode` is `{mode_name}`; set mode = \"command\""),
            );
        }
        match mode_name {
            "form" => Ok(LoginMode::Form),
            "browser" => Ok(LoginMode::Browser(BrowserSettings {
                chromium: l.chromium.as_ref().map(PathBuf::from),
                chromedriver: l.chromedriver.as_ref().map(PathBuf::from),
            })),
            "command" => match &l.command {
                Some(cmd) if !cmd.get_ref().trim().is_empty() => {
                    Ok(LoginMode::Command(cmd.get_ref().clone()))
                }
                Some(cmd) => self.err(cmd.span(), "`login.command` is empty".into()),
                None => self.err(
                    mode_span,
                    "`login.mode` is `command` but `login.command` is missing".into(),
                ),
            },
            "manual" => Ok(LoginMode::Manual),
            other => self.err(
                mode_span,
                format!("`login.mode` is `{other}`; expected form, browser, command or manual"),
            ),
        }
    }

    fn client(
        &self,
        table: &str,
        file: &Spanned<ClientFile>,
        default_method: AuthMethod,
        env_lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Client, ConfigError> {
        let c = file.get_ref();
        if c.id.get_ref().is_empty() {
            return self.err(c.id.span(), format!("`{table}.id` is empty"));
        }
        let auth_method = match &c.auth_method {
            None => default_method,
            Some(m) => match AuthMethod::parse(m.get_ref()) {
                Some(method) => method,
                None => {
                    return self.err(
                        m.span(),
                        format!(
                            "`{table}.auth_method` is `{}`; expected client_secret_basic, client_secret_post or none",
                            m.get_ref()
                        ),
                    );
                }
            },
        };
        let secret = self.secret(table, "secret", &c.secret, &c.secret_env, env_lookup)?;
        if auth_method != AuthMethod::None && secret.is_none() {
            return self.err(
                file.span(),
                format!(
                    "`[{table}]` uses {} but has neither `secret` nor `secret_env`",
                    auth_method.as_str()
                ),
            );
        }
        if table == "public_client" && auth_method != AuthMethod::None {
            return self.err(
                file.span(),
                format!(
                    "`[public_client]` must use auth_method = \"none\", not {}",
                    auth_method.as_str()
                ),
            );
        }
        let uris: Vec<(String, &Spanned<String>)> = match (&c.redirect_uri, &c.redirect_uris) {
            (Some(one), None) => vec![(format!("{table}.redirect_uri"), one)],
            (None, Some(list)) if list.get_ref().is_empty() => {
                return self.err(
                    list.span(),
                    format!("`{table}.redirect_uris` is empty; list at least one redirect URI"),
                );
            }
            (None, Some(list)) => list
                .get_ref()
                .iter()
                .enumerate()
                .map(|(i, u)| (format!("{table}.redirect_uris[{i}]"), u))
                .collect(),
            (Some(one), Some(_)) => {
                return self.err(
                    one.span(),
                    format!(
                        "`{table}.redirect_uri` and `{table}.redirect_uris` are both set; keep one (the list's first entry is the one requests use)"
                    ),
                );
            }
            (None, None) => {
                return self.err(
                    file.span(),
                    format!("`[{table}]` has neither `redirect_uri` nor `redirect_uris`"),
                );
            }
        };
        let mut redirect_uris: Vec<String> = Vec::new();
        for (key, uri) in &uris {
            self.url(key, uri)?;
            if redirect_uris.contains(uri.get_ref()) {
                return self.err(
                    uri.span(),
                    format!("`{key}`: `{}` is listed twice", uri.get_ref()),
                );
            }
            redirect_uris.push(uri.get_ref().clone());
        }
        let (first_key, first) = &uris[0];
        Ok(Client {
            id: c.id.get_ref().clone(),
            secret,
            auth_method,
            redirect_url: self.url(first_key, first)?,
            redirect_uri: first.get_ref().clone(),
            redirect_uris,
            scope: c.scope.clone().unwrap_or_else(|| "openid".to_string()),
        })
    }
}

impl Target {
    pub fn load(path: &Path) -> Result<Target, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read the target file: {e}"),
        })?;
        Self::parse(path, &text, &|name| std::env::var(name).ok())
    }

    pub fn parse(
        path: &Path,
        text: &str,
        env_lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Target, ConfigError> {
        let ctx = Ctx { path, text };
        let file: TargetFile = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: e.span().map(|s| ctx.line_of(s.start)),
            message: e.message().trim().to_string(),
        })?;
        let issuer = ctx.url("issuer", &file.issuer)?;
        let ep = &file.endpoints;
        let opt = |key: &str, v: &Option<Spanned<String>>| -> Result<Option<Url>, ConfigError> {
            v.as_ref()
                .map(|v| ctx.url(&format!("endpoints.{key}"), v))
                .transpose()
        };
        let endpoints = Endpoints {
            authorization: opt("authorization", &ep.authorization)?,
            token: opt("token", &ep.token)?,
            userinfo: opt("userinfo", &ep.userinfo)?,
            revocation: opt("revocation", &ep.revocation)?,
            jwks: opt("jwks", &ep.jwks)?,
        };
        let client = ctx.client(
            "client",
            &file.client,
            AuthMethod::ClientSecretBasic,
            env_lookup,
        )?;
        if client.auth_method == AuthMethod::None {
            return ctx.err(
                file.client.span(),
                "`[client]` must be a confidential client; put a public client under `[public_client]`"
                    .to_string(),
            );
        }
        let second_client = file
            .second_client
            .as_ref()
            .map(|c| {
                ctx.client(
                    "second_client",
                    c,
                    AuthMethod::ClientSecretBasic,
                    env_lookup,
                )
            })
            .transpose()?;
        let public_client = file
            .public_client
            .as_ref()
            .map(|c| ctx.client("public_client", c, AuthMethod::None, env_lookup))
            .transpose()?;
        let l = file.login.get_ref();
        let mode = ctx.login_mode(&file.login)?;
        let password = ctx.secret(
            "login",
            "password",
            &l.password,
            &l.password_env,
            env_lookup,
        )?;
        let password = match (password, &mode) {
            (Some(p), _) => p,
            // The user's program or the user at the terminal signs in; the scanner needs no password.
            (None, LoginMode::Command(_) | LoginMode::Manual) => Secret::new(String::new()),
            (None, _) => {
                return ctx.err(
                    file.login.span(),
                    "`[login]` has neither `password` nor `password_env`".into(),
                );
            }
        };
        let extra_origins = l
            .origins
            .iter()
            .map(|o| ctx.url("login.origins", o))
            .collect::<Result<Vec<_>, _>>()?;
        let ca_cert = match &file.tls.ca_cert {
            Some(v) if v.get_ref().trim().is_empty() => {
                return ctx.err(v.span(), "`tls.ca_cert` is empty".into());
            }
            Some(v) => Some(CaCertSetting {
                path: path
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(v.get_ref().as_str()),
                set_at: format!("{}:{}", path.display(), ctx.line_of(v.span().start)),
            }),
            None => None,
        };
        Ok(Target {
            name: file.name.unwrap_or_else(|| issuer.to_string()),
            issuer,
            endpoints,
            client,
            second_client,
            public_client,
            login: Login {
                mode,
                username: l.username.get_ref().clone(),
                password,
                extra_origins,
                hints: LoginHints {
                    username_field: l.username_field.clone(),
                    password_field: l.password_field.clone(),
                    form_selector: l.form_selector.clone(),
                    approve_button: l.approve_button.clone(),
                },
            },
            ca_cert,
        })
    }
}

/// What goes into a target file written by a tool (the lab's `--write-config`).
pub struct TargetSpec<'a> {
    pub name: &'a str,
    pub issuer: &'a str,
    pub client: ClientSpec<'a>,
    pub second_client: Option<ClientSpec<'a>>,
    pub public_client: Option<ClientSpec<'a>>,
    pub username: &'a str,
    pub password: &'a str,
}

pub struct ClientSpec<'a> {
    pub id: &'a str,
    pub secret: Option<&'a str>,
    pub auth_method: AuthMethod,
    /// Every registered redirect URI, the one requests use first (at least one).
    pub redirect_uris: Vec<&'a str>,
    pub scope: &'a str,
}

/// `s` as a TOML basic string, escaped.
pub(crate) fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl TargetSpec<'_> {
    /// Renders the target file as commented TOML.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# oauthprobe target file\n");
        out.push_str(&format!("name = {}\n", quoted(self.name)));
        out.push_str(&format!(
            "issuer = {}   # metadata is read from the issuer's well-known URLs\n",
            quoted(self.issuer)
        ));
        let mut client = |table: &str, c: &ClientSpec<'_>| {
            out.push_str(&format!("\n[{table}]\nid = {}\n", quoted(c.id)));
            if let Some(s) = c.secret {
                out.push_str(&format!("secret = {}\n", quoted(s)));
            }
            out.push_str(&format!(
                "auth_method = {}\n",
                quoted(c.auth_method.as_str())
            ));
            match c.redirect_uris.as_slice() {
                [one] => out.push_str(&format!("redirect_uri = {}\n", quoted(one))),
                many => out.push_str(&format!(
                    "redirect_uris = [{}]   # the first is the one requests use\n",
                    many.iter()
                        .map(|u| quoted(u))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
            out.push_str(&format!("scope = {}\n", quoted(c.scope)));
        };
        client("client", &self.client);
        if let Some(c) = &self.second_client {
            client("second_client", c);
        }
        if let Some(c) = &self.public_client {
            client("public_client", c);
        }
        out.push_str(&format!(
            "\n[login]\nusername = {}\npassword = {}\n",
            quoted(self.username),
            quoted(self.password)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "lab"
issuer = "http://127.0.0.1:8080"
[client]
id = "a"
secret = "s3cret"
redirect_uri = "http://127.0.0.1:8080/app/callback"
scope = "openid profile"
[public_client]
id = "p"
redirect_uri = "http://127.0.0.1:8080/app/callback"
[login]
username = "alice"
password_env = "LAB_PW"
"#;

    fn parse(text: &str) -> Result<Target, ConfigError> {
        Target::parse(Path::new("t.toml"), text, &|n| {
            (n == "LAB_PW").then(|| "pw".to_string())
        })
    }

    #[test]
    fn good_file_parses_with_env_secret() {
        let t = parse(GOOD).unwrap();
        assert_eq!(t.client.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(t.public_client.unwrap().auth_method, AuthMethod::None);
        assert_eq!(t.login.password.expose(), "pw");
    }

    #[test]
    fn tls_ca_cert_is_resolved_against_the_file_and_names_its_line() {
        let with = format!("{GOOD}[tls]\nca_cert = \"certs/ca.pem\"\n");
        let t = Target::parse(Path::new("dir/t.toml"), &with, &|_| Some("pw".into())).unwrap();
        let ca = t.ca_cert.unwrap();
        assert_eq!(ca.path, Path::new("dir/certs/ca.pem"));
        assert_eq!(ca.set_at, "dir/t.toml:16");
        assert!(parse(GOOD).unwrap().ca_cert.is_none());
        let e = parse(&format!("{GOOD}[tls]\nca_cert = \"\"\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.toml:16: `tls.ca_cert` is empty");
        let e = parse(&format!("{GOOD}[tls]\ninsecure = true\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("insecure"), "{e}");
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let bad = GOOD.replace(
            "redirect_uri = \"http://127.0.0.1:8080/app/callback\"\nscope",
            "redirect_uri = \"not a url\"\nscope",
        );
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:7: `client.redirect_uri`"), "{e}");

        let e = parse(&GOOD.replace("password_env", "pasword_env"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml:14") && e.contains("pasword_env"), "{e}");

        let e = parse(&GOOD.replace("LAB_PW", "MISSING_PW"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MISSING_PW") && e.contains("not set"), "{e}");
    }

    #[test]
    fn login_modes_parse_and_their_errors_name_the_line() {
        let t = parse(&GOOD.replace("[login]\n", "[login]\nmode = \"browser\"\n")).unwrap();
        assert_eq!(t.login.mode.name(), "browser");

        let cmd = GOOD
            .replace(
                "[login]\n",
                "[login]\nmode = \"command\"\ncommand = \"./login.sh\"\n",
            )
            .replace("password_env = \"LAB_PW\"\n", "");
        let t = parse(&cmd).unwrap();
        assert_eq!(t.login.mode, LoginMode::Command("./login.sh".into()));
        assert!(t.login.password.expose().is_empty(), "no password needed");

        let e = parse(&GOOD.replace("[login]\n", "[login]\nmode = \"command\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml:13:") && e.contains("`login.command` is missing"),
            "{e}"
        );

        let e = parse(&GOOD.replace("[login]\n", "[login]\nmode = \"sso\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml:13:") && e.contains("form, browser, command or manual"),
            "{e}"
        );

        let e = parse(&GOOD.replace("[login]\n", "[login]\ncommand = \"x\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("set mode = \"command\""), "{e}");

        let e = parse(&GOOD.replace("[login]\n", "[login]\norigins = [\"sso\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml:13:") && e.contains("login.origins"),
            "{e}"
        );
    }

    #[test]
    fn rendered_spec_parses_back() {
        let spec = TargetSpec {
            name: "lab",
            issuer: "http://127.0.0.1:1",
            client: ClientSpec {
                id: "c",
                secret: Some("x\"y"),
                auth_method: AuthMethod::ClientSecretPost,
                redirect_uris: vec!["http://127.0.0.1:1/cb", "http://127.0.0.1:1/cb2"],
                scope: "openid",
            },
            second_client: Some(ClientSpec {
                id: "d",
                secret: Some("z"),
                auth_method: AuthMethod::ClientSecretBasic,
                redirect_uris: vec!["http://127.0.0.1:1/d"],
                scope: "openid",
            }),
            public_client: None,
            username: "alice",
            password: "pw",
        };
        let text = spec.render();
        assert!(
            text.contains(
                "redirect_uris = [\"http://127.0.0.1:1/cb\", \"http://127.0.0.1:1/cb2\"]"
            )
        );
        assert!(text.contains("redirect_uri = \"http://127.0.0.1:1/d\""));
        let t = parse(&text).unwrap();
        assert_eq!(t.client.redirect_uri, "http://127.0.0.1:1/cb");
        assert_eq!(
            t.client.redirect_uris,
            ["http://127.0.0.1:1/cb", "http://127.0.0.1:1/cb2"]
        );
        assert_eq!(
            t.second_client.unwrap().redirect_uris,
            ["http://127.0.0.1:1/d"]
        );
        assert_eq!(t.client.secret.unwrap().expose(), "x\"y");
        assert_eq!(t.client.auth_method, AuthMethod::ClientSecretPost);
    }

    #[test]
    fn redirect_uris_take_a_list_and_its_errors_name_line_and_key() {
        let one = "redirect_uri = \"http://127.0.0.1:8080/app/callback\"\nscope";
        let t = parse(GOOD).unwrap();
        assert_eq!(
            t.client.redirect_uris,
            ["http://127.0.0.1:8080/app/callback"]
        );

        let list = GOOD.replacen(
            one,
            "redirect_uris = [\"http://127.0.0.1:8080/app/callback\", \"http://127.0.0.1:8080/app/other\"]\nscope",
            1,
        );
        let t = parse(&list).unwrap();
        assert_eq!(t.client.redirect_uri, "http://127.0.0.1:8080/app/callback");
        assert_eq!(t.client.redirect_url.path(), "/app/callback");
        assert_eq!(t.client.redirect_uris.len(), 2);

        let bad = GOOD.replacen(
            one,
            "redirect_uris = [\"http://127.0.0.1:8080/app/callback\",\n  \"not a url\"]\nscope",
            1,
        );
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:8: `client.redirect_uris[1]`"), "{e}");

        let e = parse(&GOOD.replacen(one, "redirect_uris = []\nscope", 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml:7: `client.redirect_uris` is empty"),
            "{e}"
        );

        let both = GOOD.replacen(
            one,
            "redirect_uri = \"http://127.0.0.1:8080/a\"\nredirect_uris = [\"http://127.0.0.1:8080/b\"]\nscope",
            1,
        );
        let e = parse(&both).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:7:") && e.contains("both set"), "{e}");

        let twice = GOOD.replacen(
            one,
            "redirect_uris = [\"http://127.0.0.1:8080/a\", \"http://127.0.0.1:8080/a\"]\nscope",
            1,
        );
        let e = parse(&twice).unwrap_err().to_string();
        assert!(
            e.contains("`client.redirect_uris[1]`") && e.contains("twice"),
            "{e}"
        );

        let none = GOOD.replacen(
            "redirect_uri = \"http://127.0.0.1:8080/app/callback\"\nscope = \"openid profile\"\n",
            "",
            1,
        );
        let e = parse(&none).unwrap_err().to_string();
        assert!(
            e.contains("neither `redirect_uri` nor `redirect_uris`"),
            "{e}"
        );
    }
}
