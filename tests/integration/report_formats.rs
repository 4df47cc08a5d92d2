//! Every report format from one scan (`--report FORMAT=PATH`, repeated), each read back and
//! validated by what its consumers use: SARIF against the official 2.1.0 JSON schema (Python's
//! jsonschema, pinned in tests/sarif-validator/), JUnit against the XSD of Jenkins' xunit plugin
//! (xmllint), the HTML in headless Chromium (a screenshot kept under target/). Then a report
//! of a real scan with hostile text put into it, which no format may obey.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oauthprobe::engine::{self, Report, ScanOptions, Severity, Status};
use oauthprobe::exit::ExitStatus;
use oauthprobe::lab::{RunningLab, Weakness};
use oauthprobe::report::{self, Context, Format, Run, ScanSettings, Subject};
use oauthprobe::target::Target;
use serde_json::Value;

use crate::common::reference::pinned_venv_python;
use crate::common::{ci, counting_server, oauthprobe, run, spawn_lab};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn schemas() -> PathBuf {
    Path::new(MANIFEST).join("tests/integration/fixtures/schemas")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A missing validator fails under CI=true, and is skipped with a message elsewhere.
fn or_skip<T>(test: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(t) => Some(t),
        Err(why) if ci() => panic!("{test}: {why}"),
        Err(why) => {
            eprintln!("skipping part of {test}: {why}");
            None
        }
    }
}

fn sarif_validator() -> Result<PathBuf, String> {
    pinned_venv_python(
        &Path::new(MANIFEST).join("tests/sarif-validator"),
        &["jsonschema", "rfc3987", "rfc3339-validator"],
    )
}

/// Validates a SARIF file against the vendored OASIS schema, with the format checkers of its
/// `uri`, `uri-reference` and `date-time` members switched on (rfc3987, rfc3339-validator).
fn assert_sarif_valid(python: &Path, sarif: &Path) {
    const SCRIPT: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
fc = jsonschema.FormatChecker()
for f in ("uri", "uri-reference", "date-time"):
    assert f in fc.checkers, "no format checker for " + f
errors = list(jsonschema.Draft4Validator(schema, format_checker=fc).iter_errors(doc))
for e in errors[:20]:
    print("/".join(str(p) for p in e.absolute_path), e.message[:300])
sys.exit(1 if errors else 0)
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(schemas().join("sarif-schema-2.1.0.json"))
        .arg(sarif)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{} does not validate against the SARIF 2.1.0 schema:\n{}{}",
        sarif.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn xmllint() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("xmllint"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "xmllint not found: scripts/test.sh installs it (Debian package libxml2-utils)"
                .to_string()
        })
}

fn assert_junit_valid(xmllint: &Path, xml: &Path) {
    let out = Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(schemas().join("junit-10.xsd"))
        .arg(xml)
        .output()
        .expect("xmllint runs");
    assert!(
        out.status.success(),
        "{} does not validate against junit-10.xsd:\n{}",
        xml.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn xpath_count(xmllint: &Path, xml: &Path, expr: &str) -> usize {
    let out = Command::new(xmllint)
        .arg("--xpath")
        .arg(format!("count({expr})"))
        .arg(xml)
        .output()
        .expect("xmllint runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("count({expr}): {}", String::from_utf8_lossy(&out.stderr)))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The HTML page fetches nothing: no element that loads (img, script src, link, iframe,
/// object, embed), no attribute naming a URL, one inline script, a CSP that allows nothing else.
fn assert_html_self_contained(html: &str) {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    let mut scripts = 0;
    for el in doc.select(&all) {
        let name = el.value().name();
        assert!(
            !matches!(
                name,
                "img" | "link" | "iframe" | "object" | "embed" | "frame" | "base" | "form"
            ),
            "a <{name}> element in the HTML report"
        );
        if name == "script" {
            scripts += 1;
            assert!(el.value().attr("src").is_none(), "a script with src");
        }
        // No attribute that loads or runs anything (a URL, an inline style, an event
        // handler); the server's text in the others (data-*, title) is inert.
        for (attr, value) in el.value().attrs() {
            assert!(
                !matches!(
                    attr,
                    "src"
                        | "href"
                        | "srcset"
                        | "action"
                        | "formaction"
                        | "poster"
                        | "data"
                        | "background"
                        | "ping"
                        | "style"
                ) && !attr.starts_with("on"),
                "<{name} {attr}=\"{value}\"> in the HTML report"
            );
        }
    }
    assert_eq!(scripts, 1, "one inline script");
    let csp = scraper::Selector::parse("meta[http-equiv=\"Content-Security-Policy\"]").unwrap();
    let policy = doc
        .select(&csp)
        .next()
        .and_then(|m| m.value().attr("content"))
        .expect("a Content-Security-Policy meta tag");
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    // The policy's script hash is the hash of the script the page holds.
    let script_sel = scraper::Selector::parse("script").unwrap();
    let script: String = doc.select(&script_sel).next().unwrap().text().collect();
    assert!(
        policy.contains(&report::html::csp_hash(&script)),
        "the CSP does not allow the page's own script: {policy}"
    );
    for css in ["url(", "@import"] {
        assert!(!html.contains(css), "{css} in the HTML report");
    }
}

fn lab_dir(lab: &RunningLab) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.toml"), lab.target_file()).unwrap();
    dir
}

fn result_of<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn one_scan_writes_every_format_and_each_validates() {
    const TEST: &str = "one_scan_writes_every_format_and_each_validates";
    let lab = spawn_lab(&[
        Weakness::CodeReuse,
        Weakness::IssNotSupported,
        Weakness::ConsentClientUnnamed,
    ])
    .await;
    let dir = lab_dir(&lab);
    let mut cmd = oauthprobe();
    cmd.current_dir(dir.path()).args([
        "scan",
        "--config",
        "lab.toml",
        "--format",
        "json",
        "--output",
        "out.json",
        "--report",
        "sarif=out.sarif",
        "--report",
        "junit=out.xml",
        "--report",
        "markdown=out.md",
        "--report",
        "html=out.html",
        "--report",
        "table=out.txt",
    ]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "--output takes the --format report");
    let p = |f: &str| dir.path().join(f);
    for f in [
        "out.json",
        "out.sarif",
        "out.xml",
        "out.md",
        "out.html",
        "out.txt",
    ] {
        assert!(
            stderr(&out).contains(&format!("report written to {f}")),
            "{f}: {}",
            stderr(&out)
        );
    }

    // JSON: the options, the selection and the exit status recorded; schema version 1.
    let doc = json(&p("out.json"));
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["options"]["concurrency"], 4);
    assert_eq!(doc["options"]["fail_on"], "low");
    assert_eq!(doc["options"]["timeout"], 10);
    assert_eq!(doc["options"]["deadline"], Value::Null);
    assert_eq!(doc["options"]["insecure"], false);
    let catalog = oauthprobe::catalog::catalog();
    assert_eq!(
        doc["selection"].as_array().unwrap().len(),
        catalog.len(),
        "every check selected"
    );
    assert_eq!(doc["selection"][0], catalog[0].id.as_str());
    assert_eq!(doc["exit_status"]["code"], 1);
    assert_eq!(
        doc["exit_status"]["meaning"],
        ExitStatus::Failed.meaning(),
        "{}",
        doc["exit_status"]
    );
    assert_eq!(result_of(&doc, "code-single-use")["status"], "fail");
    let n = |s: &str| doc["summary"][s].as_u64().unwrap() as usize;
    let (fail, warn, error, skip, total) =
        (n("fail"), n("warn"), n("error"), n("skip"), n("total"));
    assert!(fail >= 1 && warn >= 2, "{}", doc["summary"]);

    // SARIF: one run, the catalog as rules, a result per fail and warn, errors as notifications.
    let sarif = json(&p("out.sarif"));
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let rules = runs[0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), catalog.len());
    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), fail + warn);
    assert_eq!(
        results.iter().filter(|r| r["level"] == "error").count(),
        fail
    );
    let reuse = results
        .iter()
        .find(|r| r["ruleId"] == "code-single-use")
        .expect("the failing check is a result");
    assert_eq!(reuse["level"], "error");
    assert_eq!(
        rules[reuse["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "code-single-use"
    );
    assert_eq!(
        reuse["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "lab.toml",
        "the target file, as named"
    );
    assert!(
        !reuse["properties"]["evidence"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let rule = &rules[reuse["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["properties"]["security-severity"], "8.0");
    assert!(rule["properties"]["references"][0]["quote"].is_string());
    let invocation = &runs[0]["invocations"][0];
    assert_eq!(invocation["exitCode"], 1);
    assert_eq!(invocation["executionSuccessful"], error == 0);
    assert_eq!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .len(),
        error
    );
    if let Some(python) = or_skip(TEST, sarif_validator()) {
        assert_sarif_valid(&python, &p("out.sarif"));
    }

    // JUnit: a testsuite per family, a testcase per check, the counts right.
    if let Some(xmllint) = or_skip(TEST, xmllint()) {
        let xml = p("out.xml");
        assert_junit_valid(&xmllint, &xml);
        assert_eq!(xpath_count(&xmllint, &xml, "//testcase"), total);
        assert_eq!(xpath_count(&xmllint, &xml, "//testcase/failure"), fail);
        assert_eq!(xpath_count(&xmllint, &xml, "//testcase/error"), error);
        assert_eq!(xpath_count(&xmllint, &xml, "//testcase/skipped"), skip);
        assert_eq!(xpath_count(&xmllint, &xml, "//testcase/system-out"), total);
        assert_eq!(
            xpath_count(
                &xmllint,
                &xml,
                "//testsuite[@name='code']/testcase[@name='code-single-use']/failure"
            ),
            1
        );
        let families: std::collections::BTreeSet<&str> =
            catalog.iter().map(|c| c.family.as_str()).collect();
        assert_eq!(xpath_count(&xmllint, &xml, "//testsuite"), families.len());
    }

    // Markdown: the summary line, the findings in a table before the folded passes.
    let md = read(&p("out.md"));
    assert!(md.contains(&format!("**{fail} fail**")), "{md}");
    let finding = md.find("`code-single-use`").expect("the failure is listed");
    let folded = md.find("<details>").expect("the passes are folded");
    assert!(finding < folded, "{md}");
    assert!(md.contains("passed, "), "{md}");
    assert!(md.contains("exit 1"), "{md}");

    // HTML: self-contained, a row per check, the failure among them.
    let html = read(&p("out.html"));
    assert_html_self_contained(&html);
    assert_eq!(html.matches("<tr class=\"check\"").count(), total);
    assert_eq!(html.matches("data-status=\"fail\"").count(), fail);
    assert!(html.contains(">code-single-use<"));

    // The table, as on a terminal but without colour.
    let table = read(&p("out.txt"));
    assert!(table.contains("code-single-use") && !table.contains('\u{1b}'));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_over_several_targets_in_every_format() {
    const TEST: &str = "a_run_over_several_targets_in_every_format";
    let reuse = spawn_lab(&[Weakness::CodeReuse]).await;
    let secure = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets");
    std::fs::create_dir(&targets).unwrap();
    for (file, name, lab) in [("a.toml", "reuse", &reuse), ("b.toml", "secure", &secure)] {
        let text = lab
            .target_file()
            .replacen("name = \"lab\"", &format!("name = \"{name}\""), 1);
        std::fs::write(targets.join(file), text).unwrap();
    }
    let mut cmd = oauthprobe();
    cmd.current_dir(dir.path())
        .args(["scan", "--config", "targets/"]);
    for f in report::FORMATS.iter().map(|f| f.name) {
        cmd.arg("--report").arg(format!("{f}=run.{f}"));
    }
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p = |f: &str| dir.path().join(format!("run.{f}"));

    let doc = json(&p("json"));
    assert_eq!(doc["reports"].as_array().unwrap().len(), 2);
    assert_eq!(doc["exit_status"]["code"], 1, "the process's code");
    assert_eq!(doc["reports"][0]["exit_status"]["code"], 1);
    assert_eq!(
        doc["reports"][1]["exit_status"]["code"], 0,
        "each report's own code, as a scan of it alone"
    );
    assert!(doc["selection"].is_array() && doc["options"].is_object());

    let sarif = json(&p("sarif"));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(sarif["runs"].as_array().unwrap().len(), 1);
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(r["properties"]["target"], "reuse", "{r}");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "targets/a.toml"
        );
    }
    if let Some(python) = or_skip(TEST, sarif_validator()) {
        assert_sarif_valid(&python, &p("sarif"));
    }
    if let Some(xmllint) = or_skip(TEST, xmllint()) {
        assert_junit_valid(&xmllint, &p("junit"));
        assert!(
            xpath_count(
                &xmllint,
                &p("junit"),
                "//testsuite[@name='reuse / code']/testcase/failure"
            ) >= 1
        );
        assert_eq!(
            xpath_count(
                &xmllint,
                &p("junit"),
                "//testsuite[starts-with(@name, 'secure / ')]/testcase/failure"
            ),
            0
        );
    }
    let md = read(&p("markdown"));
    assert!(
        md.contains("### reuse") && md.contains("### secure"),
        "{md}"
    );
    let html = read(&p("html"));
    assert_html_self_contained(&html);
    assert!(html.contains("<select id=\"target\""));
    assert!(read(&p("table")).contains("2 targets"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_that_cannot_be_written_stops_the_command_before_the_scan() {
    let lab = spawn_lab(&[]).await;
    let (canary, hits) = counting_server("{}").await;
    let dir = tempfile::tempdir().unwrap();
    let base = lab.base_url().as_str().trim_end_matches('/').to_string();
    let text = lab.target_file().replace(&base, &canary);
    assert!(text.contains(&canary), "{text}");
    std::fs::write(dir.path().join("t.toml"), text).unwrap();
    let scan = |extra: &[&str]| {
        let mut cmd = oauthprobe();
        cmd.current_dir(dir.path())
            .args(["scan", "--config", "t.toml"])
            .args(extra);
        cmd
    };

    let out = run(scan(&["--report", "pdf=r.pdf"])).await;
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("--report") && e.contains("r.pdf") && e.contains("unknown format `pdf`"),
        "{e}"
    );
    assert!(e.contains(&report::format_names()), "{e}");

    let out = run(scan(&["--report", "sarif=no-such-dir/r.sarif"])).await;
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("--report sarif=no-such-dir/r.sarif") && e.contains("cannot write"),
        "{e}"
    );

    let out = run(scan(&[
        "--output",
        "same.json",
        "--report",
        "json=./same.json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the same file as --output same.json"),
        "{}",
        stderr(&out)
    );

    // A good file named beside a bad one is not left behind.
    let out = run(scan(&[
        "--report",
        "json=good.json",
        "--report",
        "html=no-such-dir/r.html",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("good.json").exists());

    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no request was sent: the scan never started"
    );
}

#[test]
fn the_readme_lists_the_formats_from_the_table() {
    let readme = read(&Path::new(MANIFEST).join("README.md"));
    assert!(
        readme.contains(&report::formats_markdown()),
        "README.md must hold the table of formats as `report::formats_markdown()` writes it:\n{}",
        report::formats_markdown()
    );
}

#[test]
fn help_lists_every_format() {
    let out = oauthprobe().args(["scan", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for f in report::FORMATS {
        assert!(
            help.contains(f.name) && help.contains(f.description),
            "{}: {help}",
            f.name
        );
    }
    assert!(help.contains("--report <FORMAT=PATH>"), "{help}");
}

/// Text a hostile server could put in a page title, an error, a header or a body: markup,
/// Markdown links and images, autolinks, characters XML 1.0 forbids, escape sequences.
const HOSTILE: &str = "<script>alert(1)</script> [click](https://evil.test/x) ![i](https://evil.test/i.png) <img src=https://evil.test/p onerror=alert(2)> www.evil.test a@evil.test \u{0}\u{1b}[31m\u{7}\u{b}\u{fffe}\u{202e} ]]> & \"q\" 'a' | `c` *e* # h\r\n<!-- x -->";

async fn hostile_report() -> (Report, RunningLab) {
    let lab = spawn_lab(&[Weakness::CodeReuse]).await;
    let target = Target::parse(Path::new("lab.toml"), &lab.target_file(), &|_| None).unwrap();
    let mut report = engine::scan(target, ScanOptions::default()).await.unwrap();
    report.target_name = format!("lab{HOSTILE}");
    let fail = report
        .results
        .iter()
        .position(|r| r.status == Status::Fail)
        .expect("code-reuse makes a check fail");
    let r = &mut report.results[fail];
    r.message = format!("the page said: {HOSTILE}");
    let x = r.evidence.first_mut().expect("the failure has evidence");
    x.step = HOSTILE.to_string();
    x.request.headers.push(("x-evil".into(), HOSTILE.into()));
    let resp = x.response.as_mut().expect("an answer");
    resp.body = format!("<html><title>{HOSTILE}</title></html>");
    resp.headers.push(("x-evil".into(), HOSTILE.into()));
    let mut passes = report
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == Status::Pass)
        .map(|(i, _)| i);
    let (error, warn) = (passes.next().unwrap(), passes.next().unwrap());
    report.results[error].status = Status::Error;
    report.results[error].message = format!("could not tell: {HOSTILE}");
    report.results[warn].status = Status::Warn;
    report.results[warn].message = HOSTILE.to_string();
    (report, lab)
}

/// Markup and links from the server in no format, and every file still valid.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_text_stays_text_in_every_format() {
    const TEST: &str = "hostile_text_stays_text_in_every_format";
    let (report, _lab) = hostile_report().await;
    let mut second = report.clone();
    second.target_name = "second".into();
    let reports = [report.clone(), second];
    let run = Run {
        reports: &reports,
        shard: None,
        started_at: report.started_at,
        duration: report.duration,
    };
    let settings = ScanSettings {
        concurrency: 4,
        only: vec![],
        skip: vec![],
        slow: false,
        timeout: 10,
        deadline: None,
        rps: None,
        retries: 3,
        sessions: None,
        fail_on: Severity::Low,
        insecure: false,
        proxy: None,
        baseline: None,
        strict_baseline: false,
    };
    let selection: Vec<String> = oauthprobe::catalog::catalog()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let files = vec![(
        report.target_name.clone(),
        PathBuf::from("targets/lab one.toml"),
    )];
    let ctx = Context {
        view: Default::default(),
        options: Some(&settings),
        selection: Some(&selection),
        exit_status: Some(ExitStatus::Failed),
        target_files: &files,
        profiles: &[],
    };
    let dir = tempfile::tempdir().unwrap();
    let python = or_skip(TEST, sarif_validator());
    let xmllint = or_skip(TEST, xmllint());
    for (label, subject) in [("one", Subject::One(&report)), ("run", Subject::Run(&run))] {
        let render = |f: Format| report::write(subject, f, &ctx);

        let html = render(Format::Html);
        assert_html_self_contained(&html);
        let doc = scraper::Html::parse_document(&html);
        let text: String = doc.root_element().text().collect();
        assert!(
            text.contains("<script>alert(1)</script>")
                && text.contains("<img src=https://evil.test/p"),
            "the server's markup is shown as text"
        );
        assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));

        let md = render(Format::Markdown);
        for bad in [
            "<script", "<img", "<!--", "](", "![", "https://", "www.evil", "@evil", "\u{1b}",
            "`c`", "*e*",
        ] {
            assert!(!md.contains(bad), "{label}: {bad:?} in the Markdown:\n{md}");
        }

        let sarif_text = render(Format::Sarif);
        let sarif: Value = serde_json::from_str(&sarif_text).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let hostile = results
            .iter()
            .find(|r| r["message"]["text"].as_str().unwrap().contains("alert(1)"))
            .expect("the hostile failure is a result");
        let message = hostile["message"]["text"].as_str().unwrap();
        assert!(
            message.contains("\\[click\\](https://evil.test/x)"),
            "{message}"
        );
        assert_eq!(
            hostile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "targets/lab%20one.toml"
        );
        let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .unwrap();
        assert!(!notes.is_empty());
        assert_eq!(
            sarif["runs"][0]["invocations"][0]["executionSuccessful"],
            false
        );
        let sarif_path = dir.path().join(format!("{label}.sarif"));
        std::fs::write(&sarif_path, &sarif_text).unwrap();
        if let Some(python) = &python {
            assert_sarif_valid(python, &sarif_path);
        }

        let xml = render(Format::Junit);
        assert!(!xml.contains('\u{0}') && !xml.contains('\u{1b}') && !xml.contains('\u{fffe}'));
        assert!(!xml.contains("<script"));
        let xml_path = dir.path().join(format!("{label}.xml"));
        std::fs::write(&xml_path, &xml).unwrap();
        if let Some(xmllint) = &xmllint {
            assert_junit_valid(xmllint, &xml_path);
            assert!(xpath_count(xmllint, &xml_path, "//testcase/error") >= 1);
            assert!(xpath_count(xmllint, &xml_path, "//testcase/failure") >= 1);
        }

        let json_text = render(Format::Json);
        let json: Value = serde_json::from_str(&json_text).unwrap();
        assert_eq!(json["exit_status"]["code"], 1);
        assert!(!json_text.contains('\u{1b}'));

        let table = render(Format::Table);
        assert!(!table.contains('\u{1b}') && !table.contains('\u{202e}'));
    }
}

/// The HTML report as a browser shows it: a screenshot kept under target/ (and, with
/// OAUTHPROBE_UPDATE_DOCS=1, as docs/html-report.png, the README's picture).
#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_in_headless_chromium() {
    const TEST: &str = "the_html_report_in_headless_chromium";
    let Some(chromium) = or_skip(
        TEST,
        oauthprobe::flow::browser::webdriver::chromium_path()
            .ok_or_else(|| "chromium not found: scripts/test.sh installs it".to_string()),
    ) else {
        return;
    };
    let lab = spawn_lab(&[
        Weakness::CodeReuse,
        Weakness::IssNotSupported,
        Weakness::ConsentClientUnnamed,
    ])
    .await;
    let dir = lab_dir(&lab);
    let mut cmd = oauthprobe();
    cmd.current_dir(dir.path()).args([
        "scan",
        "--config",
        "lab.toml",
        "--report",
        "html=report.html",
    ]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = dir.path().join("report.html");
    let artefacts = Path::new(MANIFEST).join("target/test-artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let png = artefacts.join("html-report.png");
    let _ = std::fs::remove_file(&png);
    let profile = tempfile::tempdir().unwrap();
    let mut shot = Command::new(&chromium);
    shot.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--window-size=1280,900",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(format!("--screenshot={}", png.display()))
    .arg(format!("file://{}", html.display()));
    let out = run(shot).await;
    assert!(out.status.success(), "chromium: {}", stderr(&out));
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    // 1280x900 as the IHDR chunk says, and more than a blank page's few kilobytes.
    assert_eq!(&bytes[16..24], &[0, 0, 5, 0, 0, 0, 3, 132]);
    assert!(bytes.len() > 40_000, "{} bytes: a blank page?", bytes.len());
    if std::env::var("OAUTHPROBE_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::copy(&png, Path::new(MANIFEST).join("docs/html-report.png")).unwrap();
    }
}
