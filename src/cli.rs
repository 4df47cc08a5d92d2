//! The command line: `lab` (and, as they land, `scan`, `demo`, `checks`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use std::io::IsTerminal;

use crate::catalog;
use crate::engine::{self, EventSender, ScanOptions, Severity};
use crate::exit::ExitStatus;
use crate::http::{CaFile, Limits, ProxySetting, TlsConfig};
use crate::lab::{self, LabOptions, Registry, Weakness, Weaknesses};
use crate::report;
use crate::target::Target;

/// `println!` that never panics: a closed standard output (`oauthprobe checks | head`) ends the
/// output quietly instead of aborting with a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that never panics (see `out!`).
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout();
        let _ = write!(stdout, $($arg)*);
        let _ = stdout.flush();
    }};
}

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
    /// Scan the authorization server a target file describes.
    #[command(after_help = crate::exit::help_text())]
    Scan(ScanArgs),
    /// Start the lab on a free loopback port and scan it: no set-up needed.
    #[command(after_help = crate::exit::help_text())]
    Demo(DemoArgs),
    /// List the catalog of checks, or explain one.
    Checks(ChecksArgs),
    /// List the conformance profiles (`--profile`): their standards and how many checks are
    /// MUST, SHOULD, MAY or n/a under each.
    Profiles,
    /// Run the lab: an authorization server and demo client on 127.0.0.1, secure by default.
    Lab(LabArgs),
    /// Write a starter target file from a server's metadata.
    Init(InitArgs),
    /// Walk one authorization as the scanner would, printing each step (redacted).
    Login(LoginArgs),
    /// Work with JSON reports: merge the shards' reports into one.
    Report(ReportArgs),
    /// Write a baseline that accepts every fail and warn of a JSON report (for --baseline).
    Baseline(BaselineArgs),
    /// Compare two JSON reports: new failures, fixed ones, changed verdicts; exit 1 on a
    /// regression (a check that fails now and did not before).
    Diff(DiffArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    /// (e.g. `oauthprobe completions bash > ~/.local/share/bash-completion/completions/oauthprobe`).
    Completions(CompletionsArgs),
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct BaselineArgs {
    /// The JSON report (`scan --format json --output FILE`).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Write the baseline here instead of standard output (an existing file is kept unless --force).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// The reason every entry gives (edit them one by one afterwards).
    #[arg(
        long,
        default_value = "accepted when the baseline was written; give the real reason"
    )]
    pub reason: String,
    /// The first day the entries no longer hold, YYYY-MM-DD [default: 90 days from today].
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Who owns the accepted findings.
    #[arg(long)]
    pub owner: Option<String>,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The earlier JSON report.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The later JSON report.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Output: text or json.
    #[arg(long, short = 'f', default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Only a new fail at or above this severity is a regression: info, low, medium, high, critical.
    #[arg(long, default_value = "low", value_parser = ["info", "low", "medium", "high", "critical"])]
    pub fail_on: String,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Merge JSON reports (the shards of `scan --shard I/N`, or single-target reports) into the
    /// document one run over all their targets writes; exits as that run would.
    Merge(MergeArgs),
}

#[derive(Args)]
pub struct MergeArgs {
    /// The JSON reports (`scan --format json --output FILE`).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Write the merged report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a check at or above this severity failed: info, low, medium, high, critical.
    #[arg(long, default_value = "low", value_parser = ["info", "low", "medium", "high", "critical"])]
    pub fail_on: String,
}

#[derive(Args)]
pub struct LoginArgs {
    /// The target file (TOML): issuer, clients, test user.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Seconds before one HTTP request is abandoned.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Accept invalid TLS certificates (only for a test server you control; every report says so).
    #[arg(long)]
    pub insecure: bool,
    /// Also trust the CA certificates in FILE (PEM), for a server with a private CA (repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Send every request through this proxy (http://HOST:PORT; Burp, ZAP), or `env` for
    /// HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY [default: no proxy, whatever the environment].
    #[arg(long, value_name = "URL|env")]
    pub proxy: Option<String>,
}

#[derive(Args)]
pub struct InitArgs {
    /// The server's issuer URL; its metadata is read from the well-known URLs under it.
    #[arg(long, value_name = "URL")]
    pub issuer: String,
    /// Write the target file here instead of standard output (an existing file is kept unless --force).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Seconds before the metadata request is abandoned.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Accept invalid TLS certificates (only for a test server you control; every report says so).
    #[arg(long)]
    pub insecure: bool,
    /// Also trust the CA certificates in FILE (PEM), for a server with a private CA (repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Send every request through this proxy (http://HOST:PORT; Burp, ZAP), or `env` for
    /// HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY [default: no proxy, whatever the environment].
    #[arg(long, value_name = "URL|env")]
    pub proxy: Option<String>,
}

#[derive(Args, Clone)]
pub struct OutputArgs {
    /// Report format on standard output, or in --output FILE (jsonl is written as each check
    /// ends).
    #[arg(long, short = 'f', default_value = "table", value_parser = format_parser())]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(
        long = "report",
        value_name = "FORMAT=PATH",
        value_parser = parse_report_list,
        help = report_option_help(false),
        long_help = report_option_help(true)
    )]
    pub report: Vec<ReportList>,
    /// Exit 1 when a check at or above this severity fails: info, low, medium, high, critical.
    #[arg(long, default_value = "low", value_parser = ["info", "low", "medium", "high", "critical"])]
    pub fail_on: String,
    /// Checks to run (comma-separated check ids, families such as `pkce`, or globs such as
    /// 'pkce-*'); all by default.
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub only: Vec<String>,
    /// Checks to leave out (comma-separated ids, families or globs).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub skip: Vec<String>,
    /// Hold the server to this conformance profile (repeatable, or comma-separated; see
    /// `oauthprobe profiles`): each check's verdict comes from the level of the clause it
    /// found broken under the profile (a MUST fails, a SHOULD warns, a check outside it is
    /// n/a). The results are judged under the first; every report says whether each profile
    /// was met, and the exit code is the worst under any of them. Default: `default`.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub profile: Vec<String>,
    /// Table: show every row in catalog order (by default failures, warnings and errors lead
    /// and passes and skips are counted).
    #[arg(long)]
    pub all: bool,
    /// Table: show only results at or above this severity (the exit code still counts every
    /// failure at or above --fail-on).
    #[arg(long, value_name = "SEVERITY", value_parser = ["info", "low", "medium", "high", "critical"])]
    pub min_severity: Option<String>,
    /// Nothing on stderr but errors (and the --insecure warning): no progress, no notes.
    // Not with --verbose: checked after parsing (settle_flags), where the command line can
    // win over the environment.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Also print every request on stderr as it is answered (method, URL, status, ms; redacted).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// How many checks run at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Signed-in sessions the checks share out (form login), for servers that limit sessions
    /// per user [default: --concurrency].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub sessions: Option<u32>,
    /// Seconds before one HTTP request is abandoned.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Largest response body read, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Accept invalid TLS certificates (only for a test server you control; every report says so).
    #[arg(long)]
    pub insecure: bool,
    /// Also trust the CA certificates in FILE (PEM), for a server with a private CA (repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Send every request through this proxy (http://HOST:PORT; Burp, ZAP), or `env` for
    /// HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY [default: no proxy, whatever the environment].
    #[arg(long, value_name = "URL|env")]
    pub proxy: Option<String>,
    /// Also run the slow checks (code expiry waits --code-wait seconds).
    #[arg(long)]
    pub slow: bool,
    /// Seconds the code-expiry check waits before redeeming its code (with --slow).
    #[arg(long, value_name = "SECONDS", default_value_t = 610)]
    pub code_wait: u64,
    /// Seconds the whole scan may take; checks still running then end in error
    /// [default: 60, plus 2 per check selected, plus --code-wait with --slow].
    #[arg(long, value_name = "SECONDS")]
    pub deadline: Option<u64>,
    /// At most N requests a second to each origin of the server, across the whole scan
    /// [default: no limit].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rps: Option<u32>,
    /// How many times a request answered 429 or 503 is sent again, after its Retry-After or a
    /// backoff of 0.5 s, 1 s, 2 s (0: never).
    #[arg(long, value_name = "N", default_value_t = crate::http::client::DEFAULT_RETRIES, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
    /// Accepted findings (TOML `[[waiver]]`s: check, reason, expires, optional target and
    /// owner): a waived fail does not fail the gate; one past its date waives nothing.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Also fail the gate (exit 1) when a baseline entry is stale: its check passes now
    /// (needs --baseline).
    #[arg(long)]
    pub strict_baseline: bool,
    /// Colour in the table: auto, always or never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

/// `--report FORMAT=PATH`: one more report of the same scan, in a file of its own.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub format: report::Format,
    pub path: PathBuf,
}

/// One `--report` value (or `OAUTHPROBE_REPORT`): one or more FORMAT=PATH joined by commas.
#[derive(Debug, Clone)]
pub struct ReportList(pub Vec<ReportRequest>);

/// `--format`'s values and their descriptions, from the table of formats.
fn format_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        report::FORMATS
            .iter()
            .map(|f| clap::builder::PossibleValue::new(f.name).help(f.description)),
    )
}

fn report_option_help(long: bool) -> String {
    let mut help = format!(
        "Also write the report in FORMAT to PATH (repeatable: every format from one scan); FORMAT is one of {}",
        report::format_names()
    );
    if long {
        help.push_str(
            " (see --format).\nSeveral may be joined by commas (sarif=a.sarif,junit=b.xml), as OAUTHPROBE_REPORT takes them: a comma starts a new report only where a format name and `=` follow it, so a PATH may hold commas.\nEach PATH is opened before the scan starts: one that cannot be written, or named twice, stops the command (exit 2).",
        );
    }
    help
}

/// `--report` and `OAUTHPROBE_REPORT`: FORMAT=PATH, or several joined by commas. A comma splits
/// only where `FORMAT=` follows it (a format's name, then `=`), so `json=a,b.json` is one path.
fn parse_report_list(s: &str) -> Result<ReportList, String> {
    let starts_request = |rest: &str| {
        report::FORMATS.iter().any(|f| {
            rest.strip_prefix(f.name)
                .is_some_and(|after| after.starts_with('='))
        })
    };
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, _) in s.match_indices(',') {
        if starts_request(&s[i + 1..]) {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(parse_report_request)
        .collect::<Result<Vec<_>, _>>()
        .map(ReportList)
}

fn parse_report_request(s: &str) -> Result<ReportRequest, String> {
    let Some((name, path)) = s.split_once('=') else {
        return Err(format!(
            "expected FORMAT=PATH, as in sarif=oauthprobe.sarif; FORMAT is one of {}",
            report::format_names()
        ));
    };
    let Some(format) = report::Format::parse(name) else {
        return Err(format!(
            "unknown format `{name}` for {path}; the formats are {}",
            report::format_names()
        ));
    };
    if path.is_empty() {
        return Err(format!("no PATH after `{name}=`"));
    }
    Ok(ReportRequest {
        format,
        path: PathBuf::from(path),
    })
}

#[derive(Args)]
pub struct ScanArgs {
    /// The target file (TOML): issuer, clients, test user. Repeat it, or name a directory
    /// (its *.toml files), to scan several targets in one run under one --concurrency.
    #[arg(long, short = 'c', value_name = "FILE|DIR", required = true)]
    pub config: Vec<PathBuf>,
    /// Scan only the I-th of N shares of the targets (I from 1), dealt out in target-name
    /// order: N runs with 1/N to N/N cover every target once (`oauthprobe report merge`).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::target_set::Shard>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Switch on a lab weakness (repeatable, or a comma-separated list), to watch a check fail.
    #[arg(long = "weak", value_name = "NAME")]
    pub weak: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct ChecksArgs {
    #[command(subcommand)]
    pub command: Option<ChecksCommand>,
    /// Listing format: table, json, or markdown (the README's catalog table).
    #[arg(long, default_value = "table", value_parser = ["table", "json", "markdown"])]
    pub format: String,
    /// Show each check's level under this profile (a LEVEL column; `level` in JSON).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Subcommand)]
pub enum ChecksCommand {
    /// Print a check's document: what it probes, the attack, the requirement, the fix.
    Explain { id: String },
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
    /// Serve a login page whose form is built by JavaScript (only `[login] mode = "browser"` gets past it).
    #[arg(long)]
    pub scripted_login: bool,
}

/// The prefix of the environment variables that set options: `--fail-on` is
/// `OAUTHPROBE_FAIL_ON`.
pub const ENV_PREFIX: &str = "OAUTHPROBE_";

/// The options of `login` and `init` that the environment sets: the ones they share with
/// `scan`, in the same sense (`init --output` is the target file, not a report: not shared).
const SHARED_WITH_SCAN: &[&str] = &["config", "timeout", "insecure", "ca-cert", "proxy"];

/// The environment variable that sets the option `--LONG`.
pub fn env_name(long: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        long.replace('-', "_").to_ascii_uppercase()
    )
}

/// The command line: the derived one, with every option of `scan` and `demo`, and the shared
/// ones of `login` and `init`, read from `OAUTHPROBE_<NAME>` when the command line leaves it
/// out (a variable set to the empty string counts as unset).
pub fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("scan", |c| options_from_env(c, None))
        .mut_subcommand("demo", |c| options_from_env(c, None))
        .mut_subcommand("login", |c| options_from_env(c, Some(SHARED_WITH_SCAN)))
        .mut_subcommand("init", |c| options_from_env(c, Some(SHARED_WITH_SCAN)))
}

fn options_from_env(cmd: clap::Command, only: Option<&[&str]>) -> clap::Command {
    cmd.mut_args(|arg| {
        let Some(long) = arg.get_long().map(str::to_owned) else {
            return arg;
        };
        if long == "help" || only.is_some_and(|only| !only.contains(&long.as_str())) {
            return arg;
        }
        let name = env_name(&long);
        if std::env::var_os(&name).is_some_and(|v| v.is_empty()) {
            return arg;
        }
        // A flag from the environment is true/false, yes/no, on/off or 1/0; anything else is
        // a usage error naming the variable.
        let arg = if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
            arg.value_parser(clap::builder::BoolishValueParser::new())
        } else {
            arg
        };
        // `--help` names the variable, never its value (a proxy URL may hold a password).
        arg.env(name).hide_env_values(true)
    })
}

/// Every environment variable that sets an option (for tests that must not inherit them).
pub fn option_env_vars() -> Vec<String> {
    let mut names: Vec<String> = command()
        .get_subcommands()
        .flat_map(|c| c.get_arguments())
        .filter_map(|a| a.get_env())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The rules between flags, where the command line wins over the environment: `-q` or `-v`
/// given on the command line overrides the other from `OAUTHPROBE_*`; both on the command
/// line (or both from the environment) is a usage error, as is `--strict-baseline` without
/// `--baseline`.
fn settle_flags(o: &mut OutputArgs, m: &clap::ArgMatches) -> Result<(), String> {
    use clap::parser::ValueSource;
    let from_env = |id: &str| m.value_source(id) == Some(ValueSource::EnvVariable);
    let named = |id: &str, long: &str| {
        if from_env(id) {
            format!("{} (set by the environment)", env_name(long))
        } else {
            format!("--{long}")
        }
    };
    if o.quiet && o.verbose {
        match (from_env("quiet"), from_env("verbose")) {
            (true, false) => o.quiet = false,
            (false, true) => o.verbose = false,
            _ => {
                return Err(format!(
                    "{} cannot be used with {}",
                    named("verbose", "verbose"),
                    named("quiet", "quiet")
                ));
            }
        }
    }
    if o.strict_baseline && o.baseline.is_none() {
        return Err(format!(
            "{} needs --baseline FILE",
            named("strict_baseline", "strict-baseline")
        ));
    }
    Ok(())
}

/// A clap error, with the variable named when the bad value came from the environment.
fn usage_from_clap(e: clap::Error, cmd: &clap::Command, args: &[std::ffi::OsString]) -> ExitCode {
    use clap::error::{ContextKind, ContextValue};
    if !e.use_stderr() {
        let _ = e.print();
        return ExitStatus::Ok.into();
    }
    let from_env = (|| {
        let Some(ContextValue::String(shown)) = e.get(ContextKind::InvalidArg) else {
            return None;
        };
        let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) else {
            return None;
        };
        // The subcommand the error is about, then the option the message shows.
        let sub = args.iter().skip(1).find_map(|a| cmd.find_subcommand(a))?;
        let arg = sub.get_arguments().find(|a| {
            a.get_long()
                .is_some_and(|l| shown.starts_with(&format!("--{l}")))
        })?;
        let long = arg.get_long()?;
        let on_command_line = args.iter().any(|a| {
            let a = a.to_string_lossy();
            a == format!("--{long}")
                || a.starts_with(&format!("--{long}="))
                || arg
                    .get_short()
                    .is_some_and(|s| a.starts_with(&format!("-{s}")))
        });
        let name = arg.get_env()?;
        let set = std::env::var_os(name)?;
        (!on_command_line && set.to_string_lossy() == value.as_str())
            .then(|| name.to_string_lossy().into_owned())
    })();
    match from_env {
        Some(name) => {
            // The variable is named on the line after the error's first.
            let message = e.render().to_string();
            let (first, rest) = message.split_once('\n').unwrap_or((&message, ""));
            eprint!("{first}\n  (from the environment variable {name})\n{rest}");
        }
        None => {
            let _ = e.print();
        }
    }
    ExitStatus::Usage.into()
}

pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cmd = command();
    let matches = match cmd.clone().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => return usage_from_clap(e, &cmd, &args),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_from_clap(e, &cmd, &args),
    };
    let mut cli = cli;
    if let (
        Command::Scan(ScanArgs { output, .. }) | Command::Demo(DemoArgs { output, .. }),
        Some((_, sub)),
    ) = (&mut cli.command, matches.subcommand())
        && let Err(e) = settle_flags(output, sub)
    {
        return usage_error(e).into();
    }
    if let Some((_, sub)) = matches.subcommand()
        && sub.try_contains_id("insecure").unwrap_or(false)
        && sub.value_source("insecure") == Some(clap::parser::ValueSource::EnvVariable)
        && sub.get_flag("insecure")
    {
        INSECURE_FROM_ENV.store(true, std::sync::atomic::Ordering::Relaxed);
    }
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
    if let Command::Scan(ScanArgs { output, .. }) | Command::Demo(DemoArgs { output, .. }) =
        &cli.command
    {
        QUIET.store(output.quiet, std::sync::atomic::Ordering::Relaxed);
    }
    let status = runtime.block_on(async {
        match cli.command {
            Command::Lab(args) => run_lab(args).await,
            Command::Scan(args) => run_scan(args).await,
            Command::Demo(args) => run_demo(args).await,
            Command::Checks(args) => run_checks(args),
            Command::Profiles => run_profiles(),
            Command::Init(args) => run_init(args).await,
            Command::Login(args) => run_login(args).await,
            Command::Report(ReportArgs {
                command: ReportCommand::Merge(args),
            }) => run_merge(args),
            Command::Baseline(args) => run_baseline(args),
            Command::Diff(args) => run_diff(args),
            Command::Completions(args) => run_completions(args),
        }
    });
    // The report is written: a task still busy (a check past the deadline) is not waited for.
    runtime.shutdown_background();
    status.into()
}

/// The certificates to trust and whether to check them at all, from `--insecure` and
/// `--ca-cert`; a `--ca-cert` file that cannot be used is a usage error naming it. With
/// `--insecure` the warning goes to stderr before anything is sent.
fn tls_config(
    insecure: bool,
    ca_certs: &[PathBuf],
    proxy: Option<&str>,
) -> Result<TlsConfig, ExitStatus> {
    let proxy = match proxy.map(ProxySetting::parse).transpose() {
        Ok(p) => p,
        Err(e) => return Err(usage_error(format!("--proxy {e}"))),
    };
    let mut ca_files = Vec::new();
    for path in ca_certs {
        match CaFile::load(path) {
            Ok(f) => ca_files.push(f),
            Err(e) => return Err(usage_error(format!("--ca-cert {e}"))),
        }
    }
    if insecure {
        if INSECURE_FROM_ENV.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!("{INSECURE_WARNING} (set by the environment: {ENV_PREFIX}INSECURE)");
        } else {
            eprintln!("{INSECURE_WARNING}");
        }
    }
    Ok(TlsConfig {
        insecure,
        ca_files,
        proxy,
    })
}

/// `--insecure` came from `OAUTHPROBE_INSECURE`: the warning says so.
static INSECURE_FROM_ENV: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What `--insecure` costs, said on stderr at the start of every command that talks to a server.
pub const INSECURE_WARNING: &str = "warning: --insecure: TLS certificates are not verified, so anyone on the network path could stand in for the server; the results say nothing about a real deployment";

fn scan_options(o: &OutputArgs, tls: TlsConfig, events: Option<EventSender>) -> ScanOptions {
    ScanOptions {
        concurrency: o.concurrency.max(1),
        only: o.only.clone(),
        skip: o.skip.clone(),
        limits: Limits {
            timeout: Duration::from_secs(o.timeout.max(1)),
            max_body_bytes: o.max_body,
        },
        insecure_tls: tls.insecure,
        ca_files: tls.ca_files,
        proxy: tls.proxy,
        slow: o.slow,
        code_wait: Duration::from_secs(o.code_wait),
        deadline: o.deadline.map(|s| Duration::from_secs(s.max(1))),
        rps: o.rps.and_then(std::num::NonZeroU32::new),
        sessions: o.sessions.map(|n| n as usize),
        retries: o.retries,
        events,
        // Checked by `prepare` before anything is sent.
        profiles: crate::profile::resolve(&o.profile).unwrap_or_default(),
        ..ScanOptions::default()
    }
}

/// `file`: the target file the target was read from (`None` for the demo's lab).
async fn scan_and_report(
    target: Target,
    file: Option<&std::path::Path>,
    o: &OutputArgs,
) -> ExitStatus {
    let Prepared {
        selection,
        profiles,
        baseline,
        tls,
    } = match prepare(o) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let sinks = match open_outputs(o) {
        Ok(sinks) => sinks,
        Err(status) => return status,
    };
    let target_files: Vec<(String, PathBuf)> = file
        .map(|f| (target.name.clone(), f.to_path_buf()))
        .into_iter()
        .collect();
    let listeners = match Listeners::start(o, selection.len(), false) {
        Ok(l) => l,
        Err(status) => {
            discard(sinks);
            return status;
        }
    };
    let scanned = engine::scan(target, scan_options(o, tls, listeners.sender())).await;
    let streamed = listeners.finish().await;
    let mut report = match scanned {
        Ok(r) => r,
        Err(e) => {
            discard(sinks);
            return usage_error(e);
        }
    };
    if let Err(status) = streamed {
        discard(sinks);
        return status;
    }
    let baseline_status = apply_baseline(baseline.as_ref(), std::slice::from_mut(&mut report), o);
    let status = baseline_status.worst(report::exit_status_under(&report, fail_on(o), &profiles));
    let settings = scan_settings(o);
    let ctx = report::Context {
        view: file_view(o),
        options: Some(&settings),
        selection: Some(&selection),
        exit_status: Some(status),
        target_files: &target_files,
        profiles: &profiles,
    };
    if let Err(status) = deliver(report::Subject::One(&report), &ctx, o, sinks) {
        return status;
    }
    if let Some(e) = &report.preflight_error {
        let e = report::terminal_safe(e);
        if report.preflight_in_target_file {
            eprintln!("error: {e}");
        } else {
            eprintln!("error: the target could not be scanned: {e}");
        }
    }
    status
}

/// What a scan's options name, read and checked before anything is sent: the checks, the
/// profiles, the baseline and how to connect. A mistake in any is a usage error.
struct Prepared {
    /// The ids of the checks selected, in catalog order.
    selection: Vec<String>,
    profiles: Vec<&'static crate::profile::Profile>,
    baseline: Option<crate::baseline::Baseline>,
    tls: TlsConfig,
}

fn prepare(o: &OutputArgs) -> Result<Prepared, ExitStatus> {
    let selection = engine::select(&o.only, &o.skip)
        .map_err(usage_error)?
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let profiles = crate::profile::resolve(&o.profile).map_err(usage_error)?;
    let baseline = load_baseline(o)?;
    let tls = tls_config(o.insecure, &o.ca_cert, o.proxy.as_deref())?;
    Ok(Prepared {
        selection,
        profiles,
        baseline,
        tls,
    })
}

/// `--baseline`, read before anything is sent: a file that cannot be used is a usage error.
fn load_baseline(o: &OutputArgs) -> Result<Option<crate::baseline::Baseline>, ExitStatus> {
    o.baseline
        .as_ref()
        .map(|path| crate::baseline::Baseline::load(path).map_err(usage_error))
        .transpose()
}

/// Marks the waived, expired and stale results; says on stderr what needs the user's care;
/// `Failed` when `--strict-baseline` meets a stale entry.
fn apply_baseline(
    baseline: Option<&crate::baseline::Baseline>,
    reports: &mut [engine::Report],
    o: &OutputArgs,
) -> ExitStatus {
    let Some(baseline) = baseline else {
        return ExitStatus::Ok;
    };
    let stale = baseline.apply(reports, &crate::baseline::today());
    let mut expired: Vec<&crate::baseline::Waiver> = reports
        .iter()
        .flat_map(|r| &r.results)
        .filter_map(|r| r.waiver.as_ref())
        .filter(|a| a.state == crate::baseline::WaiverState::Expired)
        .map(|a| &a.waiver)
        .collect();
    expired.dedup();
    for w in expired {
        eprintln!(
            "baseline: {} ({}) expired on {}: the finding counts again; fix it, or renew the entry with a reason",
            w.set_at, w.check, w.expires
        );
    }
    for w in &stale {
        eprintln!(
            "baseline: {} ({}) is stale: the check passes now; delete the entry{}",
            w.set_at,
            w.check,
            if o.strict_baseline {
                " (--strict-baseline: this fails the gate)"
            } else {
                ""
            }
        );
    }
    if o.strict_baseline && !stale.is_empty() {
        ExitStatus::Failed
    } else {
        ExitStatus::Ok
    }
}

/// The scan's options as the reports record them.
fn scan_settings(o: &OutputArgs) -> report::ScanSettings {
    report::ScanSettings {
        concurrency: o.concurrency.max(1),
        only: o.only.clone(),
        skip: o.skip.clone(),
        slow: o.slow,
        timeout: o.timeout.max(1),
        deadline: o.deadline.map(|s| s.max(1)),
        rps: o.rps,
        retries: o.retries,
        sessions: o.sessions,
        fail_on: fail_on(o),
        insecure: o.insecure,
        proxy: o
            .proxy
            .as_deref()
            .and_then(|p| ProxySetting::parse(p).ok())
            .map(|p| p.shown()),
        baseline: o.baseline.as_ref().map(|p| p.display().to_string()),
        strict_baseline: o.strict_baseline,
    }
}

/// A report file opened before the scan, so that a path that cannot be written stops the
/// command at once, not after the whole scan.
struct Sink {
    /// How the command line asked for it (`--output FILE`, `--report FORMAT=PATH`).
    option: String,
    format: report::Format,
    path: PathBuf,
    file: std::fs::File,
    /// The file did not exist: it is removed if no report is written.
    created: bool,
}

/// Opens `--output` and every `--report` file (created if missing, not yet emptied), or says
/// which cannot be written, or which two name the same file.
fn open_outputs(o: &OutputArgs) -> Result<Vec<Sink>, ExitStatus> {
    let mut wanted: Vec<(String, report::Format, PathBuf)> = Vec::new();
    // `--format jsonl --output FILE` is written as each check ends (Listeners), not here.
    if let Some(path) = o
        .output
        .as_ref()
        .filter(|_| report_format(o) != report::Format::Jsonl)
    {
        wanted.push((
            format!("--output {}", path.display()),
            report_format(o),
            path.clone(),
        ));
    }
    for r in o.report.iter().flat_map(|l| &l.0) {
        wanted.push((
            format!("--report {}={}", r.format.name(), r.path.display()),
            r.format,
            r.path.clone(),
        ));
    }
    let same = |a: &std::path::Path, b: &std::path::Path| {
        let key = |p: &std::path::Path| {
            std::fs::canonicalize(p)
                .or_else(|_| std::path::absolute(p))
                .unwrap_or_else(|_| p.to_path_buf())
        };
        key(a) == key(b)
    };
    let mut sinks: Vec<Sink> = Vec::new();
    for (i, (option, format, path)) in wanted.iter().enumerate() {
        if let Some((other, _, _)) = wanted[..i].iter().find(|(_, _, p)| same(p, path)) {
            discard(sinks);
            return Err(usage_error(format!(
                "{option}: the same file as {other}; give each report a file of its own"
            )));
        }
        let existed = path.symlink_metadata().is_ok();
        match std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
        {
            Ok(file) => sinks.push(Sink {
                option: option.clone(),
                format: *format,
                path: path.clone(),
                file,
                created: !existed,
            }),
            Err(e) => {
                discard(sinks);
                return Err(usage_error(format!(
                    "{option}: cannot write the report: {e}"
                )));
            }
        }
    }
    Ok(sinks)
}

/// Removes the files [`open_outputs`] created for a scan that wrote no report.
fn discard(sinks: Vec<Sink>) {
    for sink in sinks {
        drop(sink.file);
        if sink.created {
            let _ = std::fs::remove_file(&sink.path);
        }
    }
}

/// Writes the report: `--format` to standard output unless `--output` takes it, and each file.
fn deliver(
    subject: report::Subject<'_>,
    ctx: &report::Context<'_>,
    o: &OutputArgs,
    sinks: Vec<Sink>,
) -> Result<(), ExitStatus> {
    // JSON Lines on stdout (or in --output) went out as each check ended.
    if o.output.is_none() && report_format(o) != report::Format::Jsonl {
        let stdout_ctx = report::Context {
            view: table_view(o),
            ..*ctx
        };
        out_raw!("{}", report::write(subject, report_format(o), &stdout_ctx));
    }
    let mut result = Ok(());
    for sink in sinks {
        let text = report::write(subject, sink.format, ctx);
        if let Err(status) = write_sink(sink, &text) {
            result = Err(status);
        }
    }
    result
}

fn write_sink(sink: Sink, text: &str) -> Result<(), ExitStatus> {
    use std::io::Write as _;
    let Sink {
        option,
        path,
        mut file,
        ..
    } = sink;
    let written = (|| {
        // A regular file is emptied first; a pipe or a device (`/dev/stdout`) cannot be.
        if file.metadata()?.is_file() {
            file.set_len(0)?;
        }
        file.write_all(text.as_bytes())?;
        file.flush()
    })();
    match written {
        Ok(()) => {
            note(format!("report written to {}", path.display()));
            Ok(())
        }
        Err(e) => Err(usage_error(format!(
            "{option}: cannot write the report: {e}"
        ))),
    }
}

fn report_format(o: &OutputArgs) -> report::Format {
    report::Format::parse(&o.format).unwrap_or(report::Format::Table)
}

fn fail_on(o: &OutputArgs) -> Severity {
    Severity::parse(&o.fail_on).unwrap_or(Severity::Low)
}

/// The table in a file (`--report table=PATH`, `--output`): no colour, 100 columns or
/// `COLUMNS`, the rows `--all` and `--min-severity` ask for.
fn file_view(o: &OutputArgs) -> report::table::View {
    report::table::View {
        color: false,
        width: Some(report::term::report_width(false)),
        ..table_view(o)
    }
}

/// How the table is laid out: to the terminal's width when stdout is one, else `COLUMNS`,
/// else 100 columns (a file, a pipe).
fn table_view(o: &OutputArgs) -> report::table::View {
    let to_terminal = o.output.is_none() && std::io::stdout().is_terminal();
    report::table::View {
        color: report_color(o),
        width: Some(report::term::report_width(to_terminal)),
        all: o.all,
        min_severity: o.min_severity.as_deref().and_then(Severity::parse),
    }
}

/// The task that takes a scan's events: how many JSON Lines it wrote, or why it stopped.
type ListenerTask = tokio::task::JoinHandle<Result<usize, std::io::Error>>;

/// What listens to a scan's events while it runs: the progress on stderr and, with
/// `--format jsonl`, the lines of the report, written as each check ends.
struct Listeners {
    sender: Option<EventSender>,
    /// Told to stop when the scan is over; the task ends with the JSON Lines written.
    task: Option<(tokio::sync::oneshot::Sender<()>, ListenerTask)>,
    output: Option<PathBuf>,
}

impl Listeners {
    /// `total`: the checks the run will finish, over all its targets. With `--format jsonl
    /// --output FILE` the file is created now, so a path that cannot be written stops the
    /// run before anything is sent.
    fn start(o: &OutputArgs, total: usize, several_targets: bool) -> Result<Self, ExitStatus> {
        let mode = crate::progress::Mode::detect(o.quiet);
        let jsonl = report_format(o) == report::Format::Jsonl;
        if mode == crate::progress::Mode::Quiet && !jsonl {
            return Ok(Listeners {
                sender: None,
                task: None,
                output: None,
            });
        }
        let writer = if jsonl {
            let out: Box<dyn std::io::Write + Send> = match &o.output {
                Some(path) => match std::fs::File::create(path) {
                    Ok(f) => Box::new(std::io::BufWriter::new(f)),
                    Err(e) => {
                        return Err(usage_error(format!(
                            "{}: cannot write the report: {e}",
                            path.display()
                        )));
                    }
                },
                None => Box::new(std::io::stdout()),
            };
            Some(report::jsonl::Writer::new(out))
        } else {
            None
        };
        let mut progress = crate::progress::Progress::new(
            std::io::stderr(),
            mode,
            o.verbose,
            total,
            several_targets,
        );
        let (sender, mut events) = tokio::sync::mpsc::unbounded_channel();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut writer = writer;
            let mut handle = |event: &engine::ScanEvent| {
                progress.event(event);
                if let Some(w) = writer.as_mut() {
                    w.event(event);
                }
            };
            loop {
                tokio::select! {
                    biased;
                    event = events.recv() => match event {
                        Some(event) => handle(&event),
                        None => break,
                    },
                    _ = &mut stopped => {
                        // What was sent before the scan returned is still queued.
                        while let Ok(event) = events.try_recv() {
                            handle(&event);
                        }
                        break;
                    }
                }
            }
            progress.finish();
            match writer {
                Some(w) => w.finish(),
                None => Ok(0),
            }
        });
        Ok(Listeners {
            sender: Some(sender),
            task: Some((stop, task)),
            output: if jsonl { o.output.clone() } else { None },
        })
    }

    fn sender(&self) -> Option<EventSender> {
        self.sender.clone()
    }

    /// After the scan: the progress line is cleared and the JSON Lines are all written (a
    /// check's task still busy past the deadline may hold a sender: it is not waited for).
    async fn finish(self) -> Result<(), ExitStatus> {
        drop(self.sender);
        let Some((stop, task)) = self.task else {
            return Ok(());
        };
        let _ = stop.send(());
        match task.await {
            Ok(Ok(_)) => {
                if let Some(path) = &self.output {
                    note(format!("report written to {}", path.display()));
                }
                Ok(())
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Ok(Err(e)) => Err(usage_error(format!("cannot write the report: {e}"))),
            Err(e) => Err(usage_error(format!(
                "the report writer crashed (a bug in oauthprobe): {e}"
            ))),
        }
    }
}

/// A note on stderr (not an error): `-q` silences it.
fn note(message: impl std::fmt::Display) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{}", report::terminal_safe(&message.to_string()));
    }
}

/// `-q` was given: [`note`] says nothing.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn report_color(o: &OutputArgs) -> bool {
    match o.color.as_str() {
        "always" => true,
        "never" => false,
        _ => {
            o.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

async fn run_scan(args: ScanArgs) -> ExitStatus {
    // One target file named once keeps the one-report shape; a directory, several files or a
    // shard make a run's document, whatever the number of targets in it.
    if let ([config], None) = (args.config.as_slice(), args.shard)
        && !config.is_dir()
    {
        let target = match Target::load(config) {
            Ok(t) => t,
            Err(e) => return usage_error(e),
        };
        return scan_and_report(target, Some(config), &args.output).await;
    }
    let o = &args.output;
    let files = match crate::target_set::expand(&args.config) {
        Ok(files) => files,
        Err(e) => return usage_error(e),
    };
    let loaded = match crate::target_set::load(&files) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {}", report::terminal_safe(e));
            }
            return ExitStatus::Usage;
        }
    };
    let in_all = loaded.len();
    let mine = crate::target_set::share(loaded, args.shard);
    if let Some(shard) = args.shard {
        note(format!(
            "shard {shard}: {} of the {in_all} targets{}",
            mine.len(),
            if mine.is_empty() {
                " (there are fewer targets than shards)"
            } else {
                ""
            }
        ));
    }
    let Prepared {
        selection,
        profiles,
        baseline,
        tls,
    } = match prepare(o) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let opts = scan_options(o, tls, None);
    // A target file whose settings cannot be used ([tls] ca_cert) stops the run before any
    // target is scanned, as it would alone.
    for loaded in &mine {
        if let Err(e) = engine::connect(&loaded.target, &opts) {
            return usage_error(e);
        }
    }
    let sinks = match open_outputs(o) {
        Ok(sinks) => sinks,
        Err(status) => return status,
    };
    let target_files: Vec<(String, PathBuf)> = mine
        .iter()
        .map(|l| (l.target.name.clone(), l.path.clone()))
        .collect();
    let started_at = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let names: Vec<String> = mine.iter().map(|l| l.target.name.clone()).collect();
    let listeners = match Listeners::start(o, selection.len() * mine.len(), true) {
        Ok(l) => l,
        Err(status) => return status,
    };
    let opts = ScanOptions {
        events: listeners.sender(),
        ..opts
    };
    let outcomes = engine::scan_all(mine.into_iter().map(|l| l.target).collect(), opts).await;
    if let Err(status) = listeners.finish().await {
        return status;
    }
    let mut reports = Vec::with_capacity(outcomes.len());
    let mut status = ExitStatus::Ok;
    for (name, outcome) in names.iter().zip(outcomes) {
        match outcome {
            Ok(report) => reports.push(report),
            Err(e) => {
                status = usage_error(format!("target `{name}`: {e}"));
            }
        }
    }
    let status = status.worst(apply_baseline(baseline.as_ref(), &mut reports, o));
    let run = report::Run {
        reports: &reports,
        shard: args.shard,
        started_at,
        duration: clock.elapsed(),
    };
    let status = status.worst(report::exit_status_all(&reports, fail_on(o), &profiles));
    let settings = scan_settings(o);
    let ctx = report::Context {
        view: file_view(o),
        options: Some(&settings),
        selection: Some(&selection),
        exit_status: Some(status),
        target_files: &target_files,
        profiles: &profiles,
    };
    if let Err(status) = deliver(report::Subject::Run(&run), &ctx, o, sinks) {
        return status;
    }
    for report in &reports {
        if let Some(e) = &report.preflight_error {
            eprintln!(
                "error: the target `{}` could not be scanned: {}",
                report::terminal_safe(&report.target_name),
                report::terminal_safe(e)
            );
        }
    }
    status
}

async fn run_demo(args: DemoArgs) -> ExitStatus {
    let weaknesses = match Weaknesses::parse(&args.weak) {
        Ok(w) => w,
        Err(e) => return usage_error(e),
    };
    // A selection that cannot run is said before the lab starts.
    if let Err(e) = engine::select(&args.output.only, &args.output.skip) {
        return usage_error(e);
    }
    if let Err(e) = crate::profile::resolve(&args.output.profile) {
        return usage_error(e);
    }
    let running = match lab::start(LabOptions {
        port: 0,
        weaknesses,
        ..LabOptions::default()
    })
    .await
    {
        Ok(r) => r,
        Err(e) => return usage_error(format!("cannot start the lab on 127.0.0.1: {e}")),
    };
    note(format!(
        "lab started at {} (weaknesses: {})",
        running.issuer(),
        {
            let names: Vec<_> = running.weaknesses().iter().map(|w| w.name()).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        }
    ));
    let text = running.target_file();
    let target = match Target::parse(std::path::Path::new("<lab>"), &text, &|_| None) {
        Ok(t) => t,
        Err(e) => return usage_error(format!("the lab's own target file is invalid (a bug): {e}")),
    };
    let status = scan_and_report(target, None, &args.output).await;
    running.shutdown().await;
    status
}

fn run_checks(args: ChecksArgs) -> ExitStatus {
    if let Some(ChecksCommand::Explain { id }) = args.command {
        return match catalog::find(&id) {
            Some(meta) => {
                out_raw!("{}", meta.body.trim_start());
                ExitStatus::Ok
            }
            None => usage_error(format!("unknown check id `{id}` (see `oauthprobe checks`)")),
        };
    }
    let profile = match args.profile.as_deref() {
        Some(name) => match crate::profile::resolve(&[name.to_string()]) {
            Ok(p) => p.first().copied(),
            Err(e) => return usage_error(e),
        },
        None => None,
    };
    if profile.is_some() && args.format == "markdown" {
        return usage_error("--profile goes with --format table or json");
    }
    if args.format == "json" {
        let mut listing = serde_json::to_value(catalog::catalog()).unwrap_or_default();
        if let (Some(p), Some(items)) = (profile, listing.as_array_mut()) {
            for (item, check) in items.iter_mut().zip(catalog::catalog()) {
                if let Some(obj) = item.as_object_mut() {
                    obj.insert("level".into(), p.level(check).as_str().into());
                }
            }
        }
        out!(
            "{}",
            serde_json::to_string_pretty(&listing).unwrap_or_default()
        );
        return ExitStatus::Ok;
    }
    if args.format == "markdown" {
        out_raw!("{}", catalog::markdown_table());
        return ExitStatus::Ok;
    }
    // ID, FAMILY, SEVERITY, [LEVEL,] TITLE, REFERENCES.
    let mut builder = tabled::builder::Builder::default();
    let mut header = vec!["ID", "FAMILY", "SEVERITY"];
    header.extend(profile.map(|_| "LEVEL"));
    header.extend(["TITLE", "REFERENCES"]);
    builder.push_record(header);
    for c in catalog::catalog() {
        let mut row = vec![c.id.clone(), c.family.clone(), c.severity.to_string()];
        row.extend(profile.map(|p| p.level(c).as_str().to_string()));
        row.push(c.title.clone());
        row.push(
            c.spec
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        builder.push_record(row);
    }
    let mut table = builder.build();
    let wrapped = if profile.is_some() { 4..6 } else { 3..5 };
    table.with(tabled::settings::Style::sharp()).with(
        tabled::settings::Modify::new(tabled::settings::object::Columns::new(wrapped))
            .with(tabled::settings::Width::wrap(44).keep_words(true)),
    );
    out!("{table}");
    if let Some(p) = profile {
        let counts: Vec<String> = crate::profile::Level::ALL
            .iter()
            .map(|l| format!("{} {}", p.count(*l), l.as_str()))
            .collect();
        out!(
            "Levels under {} ({}): {}. `scan --profile {}` judges each finding at its clause's level under it.",
            p.name,
            p.title,
            counts.join(", "),
            p.name
        );
    }
    out!(
        "{} checks. `oauthprobe checks explain ID` prints one check's document.",
        catalog::catalog().len()
    );
    ExitStatus::Ok
}

/// `oauthprobe profiles`: each profile, its standards, and its checks by level.
fn run_profiles() -> ExitStatus {
    use crate::profile::Level;
    #[derive(tabled::Tabled)]
    struct Row {
        #[tabled(rename = "NAME")]
        name: String,
        #[tabled(rename = "TITLE")]
        title: String,
        #[tabled(rename = "STANDARDS")]
        standards: String,
        #[tabled(rename = "MUST")]
        must: usize,
        #[tabled(rename = "SHOULD")]
        should: usize,
        #[tabled(rename = "MAY")]
        may: usize,
        #[tabled(rename = "N/A")]
        na: usize,
    }
    let rows = crate::profile::profiles().iter().map(|p| Row {
        name: p.name.clone(),
        title: p.title.clone(),
        standards: p.standards.join(", "),
        must: p.count(Level::Must),
        should: p.count(Level::Should),
        may: p.count(Level::May),
        na: p.count(Level::NotApplicable),
    });
    let mut table = tabled::Table::new(rows);
    table.with(tabled::settings::Style::sharp()).with(
        tabled::settings::Modify::new(tabled::settings::object::Columns::new(1..3))
            .with(tabled::settings::Width::wrap(36).keep_words(true)),
    );
    out!("{table}");
    out!(
        "{} profiles. `oauthprobe checks --profile NAME` shows each check's level; `scan --profile NAME` judges the scan under it and says whether the server met it.",
        crate::profile::profiles().len()
    );
    ExitStatus::Ok
}

/// `oauthprobe completions SHELL`: the script for the command line as parsed (with its
/// `OAUTHPROBE_*` variables), on standard output.
fn run_completions(args: CompletionsArgs) -> ExitStatus {
    let mut cmd = command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "oauthprobe", &mut script);
    out_raw!("{}", String::from_utf8_lossy(&script));
    ExitStatus::Ok
}

fn run_baseline(args: BaselineArgs) -> ExitStatus {
    let source = args.from.display().to_string();
    let doc: serde_json::Value = match std::fs::read_to_string(&args.from)
        .map_err(|e| format!("{source}: cannot read the report: {e}"))
        .and_then(|t| {
            serde_json::from_str(&t)
                .map_err(|e| format!("{source}: not an oauthprobe JSON report: {e}"))
        }) {
        Ok(doc) => doc,
        Err(e) => return usage_error(e),
    };
    let expires = args.expires.clone().unwrap_or_else(|| {
        crate::baseline::date_of(std::time::SystemTime::now() + Duration::from_secs(90 * 86_400))
    });
    let text = match crate::baseline::from_report(
        &doc,
        &source,
        &args.reason,
        &expires,
        args.owner.as_deref(),
    ) {
        Ok(text) => text,
        Err(e) => return usage_error(e),
    };
    match &args.output {
        Some(path) => {
            if path.exists() && !args.force {
                return usage_error(format!(
                    "{}: the file exists; pass --force to replace it",
                    path.display()
                ));
            }
            if let Err(e) = std::fs::write(path, &text) {
                return usage_error(format!(
                    "{}: cannot write the baseline: {e}",
                    path.display()
                ));
            }
            eprintln!(
                "baseline written to {} ({} entries, until {expires}); review each reason before committing it",
                path.display(),
                text.matches("[[waiver]]").count()
            );
        }
        None => out_raw!("{text}"),
    }
    ExitStatus::Ok
}

fn run_diff(args: DiffArgs) -> ExitStatus {
    let fail_on = Severity::parse(&args.fail_on).unwrap_or(Severity::Low);
    let diff = match report::diff::diff(&args.old, &args.new) {
        Ok(d) => d,
        Err(e) => return usage_error(e),
    };
    let text = if args.format == "json" {
        report::diff::render_json(&diff)
    } else {
        report::diff::render_text(&diff, fail_on)
    };
    out_raw!("{text}");
    if diff.regressions(fail_on).next().is_some() {
        ExitStatus::Failed
    } else {
        ExitStatus::Ok
    }
}

fn run_merge(args: MergeArgs) -> ExitStatus {
    let mut run = match report::merge::merge(&args.files) {
        Ok(run) => run,
        Err(e) => return usage_error(e),
    };
    let fail_on = Severity::parse(&args.fail_on).unwrap_or(Severity::Low);
    let status = report::merge::exit_status(&run, fail_on);
    run.exit_status = Some(status.into());
    let text = report::json::render_run(&run);
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                return usage_error(format!("{}: cannot write the report: {e}", path.display()));
            }
        }
        None => out_raw!("{text}"),
    }
    let s = &run.summary;
    eprintln!(
        "merged {} reports: {} targets, {} checks: {} pass, {} fail, {} warn, {} skip, {} error{}{}",
        args.files.len(),
        s.targets,
        s.total,
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error,
        match s.not_scanned {
            0 => String::new(),
            n => format!(" · {n} could not be scanned"),
        },
        args.output
            .as_ref()
            .map(|p| format!("; written to {}", p.display()))
            .unwrap_or_default()
    );
    status
}

fn usage_error(message: impl std::fmt::Display) -> ExitStatus {
    eprintln!("error: {}", report::terminal_safe(&message.to_string()));
    ExitStatus::Usage
}

async fn run_init(args: InitArgs) -> ExitStatus {
    // `127.0.0.1:8080` or `localhost:8080`: a host and port without the scheme.
    let scheme_missing = !args.issuer.contains("://");
    if scheme_missing {
        return usage_error(format!(
            "--issuer {}: give the whole URL with its scheme, e.g. https://{} (or http:// for a test server on loopback)",
            args.issuer, args.issuer
        ));
    }
    let issuer = match url::Url::parse(&args.issuer) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
        Ok(u) => {
            return usage_error(format!(
                "--issuer {}: scheme `{}` is not http or https",
                args.issuer,
                u.scheme()
            ));
        }
        Err(e) => return usage_error(format!("--issuer {}: not a URL ({e})", args.issuer)),
    };
    if let Some(path) = &args.output
        && path.exists()
        && !args.force
    {
        return usage_error(format!(
            "{}: the file exists; pass --force to replace it",
            path.display()
        ));
    }
    let limits = Limits {
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..Limits::default()
    };
    let tls = match tls_config(args.insecure, &args.ca_cert, args.proxy.as_deref()) {
        Ok(t) => t,
        Err(status) => return status,
    };
    let (metadata_url, metadata) = match crate::init::fetch_metadata(&issuer, limits, tls).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {}", report::terminal_safe(&e));
            return ExitStatus::Incomplete;
        }
    };
    let text = crate::init::render(&issuer, &metadata_url, &metadata);
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                return usage_error(format!(
                    "{}: cannot write the target file: {e}",
                    path.display()
                ));
            }
            eprintln!(
                "target file written to {} from {metadata_url}; fill in the lines marked CHANGE ME",
                path.display()
            );
        }
        None => out_raw!("{text}"),
    }
    ExitStatus::Ok
}

/// `oauthprobe login`: the pre-flight's sign-in, step by step, for a user whose scan cannot sign in.
async fn run_login(args: LoginArgs) -> ExitStatus {
    use crate::flow::authorize::{AuthOutcome, AuthRequest, Consent, Trace, UserAgent};
    use crate::target::LoginMode;
    use std::io::Write;

    let target = match Target::load(&args.config) {
        Ok(t) => t,
        Err(e) => return usage_error(e),
    };
    let tls = match tls_config(args.insecure, &args.ca_cert, args.proxy.as_deref()) {
        Ok(t) => t,
        Err(status) => return status,
    };
    let opts = ScanOptions {
        limits: Limits {
            timeout: Duration::from_secs(args.timeout.max(1)),
            ..Limits::default()
        },
        insecure_tls: tls.insecure,
        ca_files: tls.ca_files,
        proxy: tls.proxy,
        ..ScanOptions::default()
    };
    let (client, navigator) = match engine::connect(&target, &opts) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        // A closed stdout (`| head`) ends the walk's output quietly.
        let _ = writeln!(out, "{}", crate::report::terminal_safe(&line));
    };
    say(format!(
        "oauthprobe login · {} · client `{}` · {} login as `{}`",
        target.issuer,
        target.client.id,
        target.login.mode.name(),
        target.login.username
    ));
    if let Some(line) = report::tls_line(client.tls().insecure, &client.tls().ca_paths()) {
        say(line);
    }
    if let Some(proxy) = &client.tls().proxy {
        say(format!(
            "every request goes through the proxy {}",
            proxy.shown()
        ));
    }
    let session = client.session();
    let discovered = match engine::discover(&client, &session, &target).await {
        Ok(d) => d,
        Err(e) => {
            say(format!("metadata: {e}"));
            say("stopped: the endpoints are unknown; set [endpoints] in the target file".into());
            return ExitStatus::Incomplete;
        }
    };
    say(format!(
        "metadata: {} (authorization endpoint {})",
        discovered
            .metadata_url
            .as_ref()
            .map_or("none; endpoints from the target file".to_string(), |u| u
                .to_string()),
        discovered.endpoints.authorization
    ));
    let request = AuthRequest::for_client(&target.client);
    if let Some(v) = &request.verifier {
        session.redactor().add(v);
    }
    let trace = Trace::default();
    let step = "oauthprobe login";
    let result = match &target.login.mode {
        LoginMode::Form => {
            UserAgent {
                http: &session,
                login: &target.login,
                trace: Some(&trace),
            }
            .authorize(
                step,
                &discovered.endpoints.authorization,
                &request,
                &target.client.redirect_url,
                Consent::Approve,
            )
            .await
        }
        _ => {
            navigator
                .authorize(
                    &session,
                    step,
                    &discovered.endpoints.authorization,
                    &request,
                    &target.client.redirect_url,
                    Consent::Approve,
                )
                .await
        }
    };
    navigator.close().await;
    let mut lines = trace.lines();
    if lines.is_empty() {
        // Modes that walk on their own: what they reported, from the transcript.
        lines = session
            .transcript()
            .iter()
            .map(|x| {
                let status = x.response.as_ref().map_or_else(
                    || x.error.clone().unwrap_or_default(),
                    |r| format!("HTTP {}", r.status),
                );
                match &x.via {
                    Some(via) => format!("{} {} -> {via}", x.request.method, x.request.url),
                    None => format!("{} {} -> {status}", x.request.method, x.request.url),
                }
            })
            .collect();
    }
    let mut number = 0;
    for line in &lines {
        if line.starts_with("  ") {
            say(format!("    {}", line.trim_start()));
        } else {
            number += 1;
            say(format!("{number:>2}. {line}"));
        }
    }
    match result {
        Ok(outcome) => match outcome.code() {
            Some(code) => {
                let state_back = outcome.param("state") == request.get("state");
                say(format!(
                    "reached a code ({} characters, «redacted») at {}; state {}",
                    code.len(),
                    session.redactor().redact_url(match &outcome {
                        AuthOutcome::Redirect { location, .. } => location,
                        AuthOutcome::Page { url, .. } => url,
                    }),
                    if state_back {
                        "came back unchanged"
                    } else {
                        "did NOT come back unchanged"
                    }
                ));
                ExitStatus::Ok
            }
            None => {
                say(format!(
                    "stopped: {}",
                    engine::no_code_reason(&target, &outcome, false)
                ));
                ExitStatus::Incomplete
            }
        },
        Err(e) => {
            say(format!(
                "stopped: {}{}",
                session.redactor().redact(&e.to_string()),
                engine::sign_in_advice(&target, false)
            ));
            ExitStatus::Incomplete
        }
    }
}

async fn run_lab(args: LabArgs) -> ExitStatus {
    if args.list_weak {
        let width = Weakness::ALL
            .iter()
            .map(|w| w.name().len())
            .max()
            .unwrap_or(0);
        for w in Weakness::ALL {
            out!("{:width$}  {}", w.name(), w.description());
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
        scripted_login: args.scripted_login,
        ..LabOptions::default()
    };
    let stop = stop_signal();
    let running = match lab::start(opts).await {
        Ok(r) => r,
        Err(e) => {
            return usage_error(format!("cannot listen on 127.0.0.1:{}: {e}", args.port));
        }
    };
    let base = running.issuer().to_string();
    out!("oauthprobe lab listening on {base}");
    out!("  demo app:  {base}/app");
    out!("  metadata:  {base}/.well-known/openid-configuration");
    let user = running.user();
    out!("  user:      {} / {}", user.username, user.password);
    for c in running.clients() {
        out!(
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
        out!("  weaknesses: none (secure by default)");
    } else {
        let names: Vec<_> = running.weaknesses().iter().map(|w| w.name()).collect();
        out!("  weaknesses: {}", names.join(", "));
    }
    if let Some(path) = &args.write_config {
        if let Err(e) = std::fs::write(path, running.target_file()) {
            running.shutdown().await;
            return usage_error(format!(
                "{}: cannot write the target file: {e}",
                path.display()
            ));
        }
        out!("  target file written to {}", path.display());
    }
    out!("Press Ctrl-C to stop.");
    stop.await;
    running.shutdown().await;
    eprintln!("oauthprobe lab stopped");
    ExitStatus::Ok
}

/// Registers for SIGTERM and SIGINT at once, so a signal sent as soon as the lab has printed its
/// address (a test, a supervisor) stops it cleanly; the returned future ends at the first one.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(s: &str) -> Vec<(String, String)> {
        parse_report_list(s)
            .unwrap()
            .0
            .into_iter()
            .map(|r| (r.format.name().to_string(), r.path.display().to_string()))
            .collect()
    }

    #[test]
    fn a_report_list_splits_only_before_a_format_name() {
        assert_eq!(paths("sarif=a.sarif"), [("sarif".into(), "a.sarif".into())]);
        assert_eq!(
            paths("sarif=a.sarif,junit=b.xml,jsonl=c"),
            [
                ("sarif".into(), "a.sarif".into()),
                ("junit".into(), "b.xml".into()),
                ("jsonl".into(), "c".into())
            ]
        );
        // A comma not followed by FORMAT= belongs to the path.
        assert_eq!(
            paths("json=out,v2.json,html=x,y=z.html"),
            [
                ("json".into(), "out,v2.json".into()),
                ("html".into(), "x,y=z.html".into())
            ]
        );
        assert!(parse_report_list("sarif=a,pdf=b").is_ok_and(|l| l.0.len() == 1));
        assert!(parse_report_list("sarif=a,json=").is_err());
        assert!(parse_report_list("a.sarif").is_err());
    }

    #[test]
    fn every_scan_and_demo_option_has_its_variable() {
        let cmd = command();
        for sub in ["scan", "demo"] {
            let sub = cmd.find_subcommand(sub).unwrap();
            for arg in sub.get_arguments().filter(|a| a.get_long().is_some()) {
                let long = arg.get_long().unwrap();
                if long == "help" {
                    continue;
                }
                assert_eq!(
                    arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                    Some(env_name(long)),
                    "--{long}"
                );
            }
        }
        assert_eq!(env_name("fail-on"), "OAUTHPROBE_FAIL_ON");
        // init's --output is the target file: not the scan's report variable.
        let init = cmd.find_subcommand("init").unwrap();
        let output = init
            .get_arguments()
            .find(|a| a.get_long() == Some("output"));
        assert!(output.unwrap().get_env().is_none());
    }

    #[test]
    fn no_option_variable_is_one_the_project_gives_another_meaning() {
        // Secrets named by `init`'s starter file and the README (`*_env` keys), what the login
        // command gets, the Action's inputs, and the tests' own switches.
        let taken = [
            "OAUTHPROBE_PASSWORD",
            "OAUTHPROBE_CLIENT_SECRET",
            "OAUTHPROBE_SECOND_CLIENT_SECRET",
            "OAUTHPROBE_SECRET",
            "OAUTHPROBE_USERNAME",
            "OAUTHPROBE_AUTHORIZE_URL",
            "OAUTHPROBE_REDIRECT_URI",
            "OAUTHPROBE_CONSENT",
            "OAUTHPROBE_STEP",
            "OAUTHPROBE_ARGS",
            "OAUTHPROBE_BIN",
            "OAUTHPROBE_REPORT_DIR",
            "OAUTHPROBE_SCREENSHOT_DIR",
            "OAUTHPROBE_UPDATE_DOCS",
        ];
        let vars = option_env_vars();
        assert!(vars.contains(&"OAUTHPROBE_FAIL_ON".to_string()), "{vars:?}");
        for v in &vars {
            assert!(
                !taken.contains(&v.as_str()) && !v.starts_with("OAUTHPROBE_FUZZ_"),
                "{v}"
            );
        }
    }
}
