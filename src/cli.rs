//! The command line: `lab` (and, as they land, `scan`, `demo`, `checks`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::exit::ExitStatus;
use crate::lab::{self, LabOptions, Registry, Weakness, Weaknesses};

#[derive(Parser)]
#[command(
    name = "oauthprobe",
    version,
    about = "Security conformance scanner for OAuth 2.0 and OpenID Connect authorization servers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the lab: an authorization server and demo client on 127.0.0.1, secure by default.
    Lab(LabArgs),
}

#[derive(Args)]
pub struct LabArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Switch on a known flaw (repeatable, or a comma-separated list); see --list-weak.
    #[arg(long = "weak", value_name = "NAME")]
    pub weak: Vec<String>,
    /// Print every weakness with what it does, and exit.
    #[arg(long)]
    pub list_weak: bool,
    /// Write a target file describing the running lab, for `oauthprobe scan --config`.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
    /// Load clients and the test user from a TOML file instead of generating them.
    #[arg(long, value_name = "FILE")]
    pub clients: Option<PathBuf>,
    /// Delay every response by this many milliseconds (to stand in for a remote server).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Usage.into()
            } else {
                ExitStatus::Ok.into()
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitStatus::Incomplete.into();
        }
    };
    let status = runtime.block_on(async {
        match cli.command {
            Command::Lab(args) => run_lab(args).await,
        }
    });
    status.into()
}

fn usage_error(message: impl std::fmt::Display) -> ExitStatus {
    eprintln!("error: {message}");
    ExitStatus::Usage
}

async fn run_lab(args: LabArgs) -> ExitStatus {
    if args.list_weak {
        let width = Weakness::ALL
            .iter()
            .map(|w| w.name().len())
            .max()
            .unwrap_or(0);
        for w in Weakness::ALL {
            println!("{:width$}  {}", w.name(), w.description());
        }
        return ExitStatus::Ok;
    }
    let weaknesses = match Weaknesses::parse(&args.weak) {
        Ok(w) => w,
        Err(e) => return usage_error(e),
    };
    let registry = match &args.clients {
        Some(path) => match Registry::load(path) {
            Ok(r) => Some(r),
            Err(e) => return usage_error(e),
        },
        None => None,
    };
    let opts = LabOptions {
        port: args.port,
        weaknesses,
        latency: Duration::from_millis(args.latency_ms),
        registry,
        code_lifetime: None,
    };
    let running = match lab::start(opts).await {
        Ok(r) => r,
        Err(e) => {
            return usage_error(format!("cannot listen on 127.0.0.1:{}: {e}", args.port));
        }
    };
    let base = running.issuer().to_string();
    println!("oauthprobe lab listening on {base}");
    println!("  demo app:  {base}/app");
    println!("  metadata:  {base}/.well-known/openid-configuration");
    let user = running.user();
    println!("  user:      {} / {}", user.username, user.password);
    for c in running.clients() {
        println!(
            "  client:    {} ({}){}",
            c.id,
            c.auth_method.as_str(),
            c.secret
                .as_deref()
                .map(|s| format!(" secret {s}"))
                .unwrap_or_default()
        );
    }
    if running.weaknesses().is_empty() {
        println!("  weaknesses: none (secure by default)");
    } else {
        let names: Vec<_> = running.weaknesses().iter().map(|w| w.name()).collect();
        println!("  weaknesses: {}", names.join(", "));
    }
    if let Some(path) = &args.write_config {
        if let Err(e) = std::fs::write(path, running.target_file()) {
            running.shutdown().await;
            return usage_error(format!(
                "{}: cannot write the target file: {e}",
                path.display()
            ));
        }
        println!("  target file written to {}", path.display());
    }
    println!("Press Ctrl-C to stop.");
    wait_for_stop_signal().await;
    running.shutdown().await;
    eprintln!("oauthprobe lab stopped");
    ExitStatus::Ok
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
