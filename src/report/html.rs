//! One self-contained HTML page: a summary, a table of every check filterable by status,
//! severity, target and text, and each check's evidence in a `<details>`.
//!
//! The page fetches nothing: its style and its script are inline, and its Content Security
//! Policy allows those two by their SHA-256 hashes and nothing else (no image, font, frame,
//! connection, form or base URL), so that even text that escaped its escaping could not run or
//! load anything. Every string from the server, and every other string too, is HTML-escaped:
//! the scanner audits servers that may be hostile, and a page title of `<script>` stays text.
//! The issuer and the URLs in the evidence are text, never links.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Context, Subject};
use crate::engine::{CheckResult, Report, Severity, Status};

const STYLE: &str = r#"
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --soft: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --skip: #59636e; --error: #8250df; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 16px; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 16px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 92px; background: var(--soft); }
.card b { display: block; font-size: 22px; }
.card.pass b { color: var(--pass); } .card.fail b { color: var(--fail); } .card.warn b { color: var(--warn); }
.card.skip b { color: var(--skip); } .card.error b { color: var(--error); }
.notice { border-left: 4px solid var(--fail); background: #fff1f0; padding: 8px 12px; margin: 0 0 12px; overflow-wrap: anywhere; }
.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 0 0 10px; }
.filters input, .filters select { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
.filters input { min-width: 260px; }
#shown { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); position: sticky; top: 0; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
td.msg { overflow-wrap: anywhere; }
.badge { display: inline-block; min-width: 48px; text-align: center; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); } .badge.warn { background: var(--warn); }
.badge.skip { background: var(--skip); } .badge.error { background: var(--error); }
.sev-critical, .sev-high { font-weight: 600; }
details { margin-top: 4px; }
summary { cursor: pointer; color: var(--muted); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; max-height: 480px; overflow: auto; }
.refs { color: var(--muted); font-size: 12px; }
footer { color: var(--muted); margin-top: 16px; font-size: 12px; }
"#;

const SCRIPT: &str = r#"
(function () {
  var q = document.getElementById('q'), st = document.getElementById('status'),
      sv = document.getElementById('severity'), tg = document.getElementById('target'),
      shown = document.getElementById('shown');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.check'));
  var findings = { fail: 1, warn: 1, error: 1 };
  function apply() {
    var text = q.value.toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var s = r.getAttribute('data-status');
      var ok = (!st.value || (st.value === 'findings' ? findings[s] === 1 : s === st.value))
        && (!sv.value || r.getAttribute('data-severity') === sv.value)
        && (!tg || !tg.value || r.getAttribute('data-target') === tg.value)
        && (!text || r.textContent.toLowerCase().indexOf(text) !== -1);
      r.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = n + ' of ' + rows.length + ' checks shown';
  }
  [q, st, sv, tg].forEach(function (el) {
    if (el) { el.addEventListener('input', apply); el.addEventListener('change', apply); }
  });
  apply();
})();
"#;

/// `'sha256-…'` of an inline element's text, for the Content Security Policy.
pub fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The page's Content Security Policy: nothing but its own style and script.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

pub fn write(subject: Subject<'_>, ctx: &Context<'_>) -> String {
    let reports = subject.reports();
    let several = matches!(subject, Subject::Run(_));
    let title = match subject {
        Subject::One(r) => format!("oauthprobe · {}", r.target_name),
        Subject::Run(run) => format!(
            "oauthprobe · {} targets{}",
            run.reports.len(),
            run.shard
                .map(|s| format!(" (shard {s})"))
                .unwrap_or_default()
        ),
    };
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        content_security_policy(),
        esc(&title),
        esc(&title)
    );
    let mut sub = match subject {
        Subject::One(r) => format!("{} · ", esc(&r.issuer)),
        Subject::Run(_) => String::new(),
    };
    let counts = super::counts(reports);
    let checks: usize = counts.iter().map(|(_, n)| n).sum();
    let _ = write!(
        sub,
        "{checks} checks in {} · started {} · oauthprobe {}",
        super::took(subject.duration()),
        super::rfc3339(subject.started_at()),
        env!("CARGO_PKG_VERSION")
    );
    if let Some(status) = ctx.exit_status {
        let _ = write!(sub, " · exit {} ({})", status.code(), esc(status.meaning()));
    }
    let _ = writeln!(out, "<p class=\"sub\">{sub}</p>");
    for r in reports {
        if let Some(line) = super::tls_line(r.insecure_tls, &r.ca_files) {
            let _ = writeln!(out, "<p class=\"notice\">{}</p>", esc(&line));
            break;
        }
    }
    out.push_str("<div class=\"cards\">\n");
    for (status, n) in counts {
        let _ = writeln!(out, "<div class=\"card {status}\"><b>{n}</b>{status}</div>");
    }
    out.push_str("</div>\n");
    for r in reports {
        if let Some(e) = &r.preflight_error {
            let _ = writeln!(
                out,
                "<p class=\"notice\"><b>{}</b> could not be scanned: {}</p>",
                esc(&r.target_name),
                esc(e)
            );
        }
    }
    profiles(&mut out, reports, ctx, several);
    if several {
        out.push_str("<table class=\"targets\">\n<thead><tr><th>target</th><th>issuer</th><th>pass</th><th>fail</th><th>warn</th><th>skip</th><th>error</th></tr></thead>\n<tbody>\n");
        for r in reports {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"msg\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.target_name),
                esc(&r.issuer),
                r.count(Status::Pass),
                r.count(Status::Fail),
                r.count(Status::Warn),
                r.count(Status::Skip),
                r.count(Status::Error)
            );
        }
        out.push_str("</tbody>\n</table>\n<p></p>\n");
    }
    out.push_str("<div class=\"filters\">\n<input id=\"q\" type=\"search\" placeholder=\"Filter: id, message, evidence\" aria-label=\"filter by text\">\n<select id=\"status\" aria-label=\"status\"><option value=\"\">every status</option><option value=\"findings\">fail, warn, error</option>");
    for s in Status::ALL {
        let _ = write!(out, "<option value=\"{s}\">{s}</option>");
    }
    out.push_str("</select>\n<select id=\"severity\" aria-label=\"severity\"><option value=\"\">every severity</option>");
    for s in Severity::ALL.iter().rev() {
        let _ = write!(out, "<option value=\"{s}\">{s}</option>");
    }
    out.push_str("</select>\n");
    if several {
        out.push_str(
            "<select id=\"target\" aria-label=\"target\"><option value=\"\">every target</option>",
        );
        for r in reports {
            let _ = write!(
                out,
                "<option value=\"{0}\">{0}</option>",
                esc(&r.target_name)
            );
        }
        out.push_str("</select>\n");
    }
    out.push_str("<span id=\"shown\"></span>\n</div>\n<table class=\"checks\">\n<thead><tr>");
    if several {
        out.push_str("<th>target</th>");
    }
    out.push_str(
        "<th>check</th><th>status</th><th>severity</th><th>result</th></tr></thead>\n<tbody>\n",
    );
    // The findings first (fail, error, warn), then the rest; the catalog's order within each.
    for group in [
        &[Status::Fail][..],
        &[Status::Error],
        &[Status::Warn],
        &[Status::Pass, Status::Skip],
    ] {
        for r in reports {
            for c in r.results.iter().filter(|c| group.contains(&c.status)) {
                row(&mut out, r, c, several);
            }
        }
    }
    out.push_str("</tbody>\n</table>\n<footer>Secrets from the target file, and every code, verifier and token seen during the scan, are replaced by «redacted» in the evidence.</footer>\n");
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// A table of the `--profile`s: per target, whether each was met and what keeps it from it.
fn profiles(out: &mut String, reports: &[Report], ctx: &Context<'_>, several: bool) {
    if ctx.profiles.is_empty() {
        return;
    }
    out.push_str("<table class=\"targets\">\n<thead><tr>");
    if several {
        out.push_str("<th>target</th>");
    }
    out.push_str("<th>profile</th><th>verdict</th><th>MUST met</th><th>SHOULD met</th><th>n/a</th><th>not met</th><th>not run</th></tr></thead>\n<tbody>\n");
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "none".to_string()
        } else {
            esc(&ids.join(", "))
        }
    };
    for r in reports {
        for s in ctx.profile_summaries(r) {
            out.push_str("<tr>");
            if several {
                let _ = write!(out, "<td>{}</td>", esc(&r.target_name));
            }
            let _ = writeln!(
                out,
                "<td>{}</td><td><span class=\"badge {}\">{}</span></td><td>{}/{}</td><td>{}/{}</td><td>{}</td><td class=\"msg\">{}</td><td class=\"msg\">{}</td></tr>",
                esc(&s.name),
                if s.met { "pass" } else { "fail" },
                if s.met { "met" } else { "not met" },
                s.must.met,
                s.must.total,
                s.should.met,
                s.should.total,
                s.not_applicable,
                list(&s.not_met),
                list(&s.not_run),
            );
        }
    }
    let _ = writeln!(
        out,
        "</tbody>\n</table>\n<p class=\"sub\">Verdicts judged under profile {}.</p>",
        esc(reports
            .first()
            .map_or("default", |r| r.profile.name.as_str()))
    );
}

fn row(out: &mut String, report: &Report, c: &CheckResult, several: bool) {
    let _ = write!(
        out,
        "<tr class=\"check\" data-status=\"{}\" data-severity=\"{}\" data-target=\"{}\">",
        c.status,
        c.meta.severity,
        esc(&report.target_name)
    );
    if several {
        let _ = write!(out, "<td>{}</td>", esc(&report.target_name));
    }
    let refs: Vec<String> = c.meta.spec.iter().map(|s| s.to_string()).collect();
    let _ = write!(
        out,
        "<td class=\"id\" title=\"{}\">{}</td><td><span class=\"badge {}\">{}</span></td><td class=\"sev-{}\">{}</td><td class=\"msg\">{}",
        esc(&c.meta.title),
        esc(&c.meta.id),
        c.status,
        c.status,
        c.meta.severity,
        c.meta.severity,
        esc(&c.message)
    );
    let _ = write!(
        out,
        "<details><summary>evidence · {} request{}, {} ms</summary><p>{}</p><p><b>Remediation:</b> {}</p><p class=\"refs\">{}</p>",
        c.requests,
        if c.requests == 1 { "" } else { "s" },
        c.duration_ms,
        esc(&c.meta.title),
        esc(&c.meta.remediation),
        esc(&refs.join(" · "))
    );
    if !c.evidence.is_empty() {
        let _ = write!(
            out,
            "<pre>{}</pre>",
            esc(&super::evidence_text(&c.evidence))
        );
    }
    out.push_str("</details></td></tr>\n");
}

/// HTML-escaped text, fit for an element's content and a quoted attribute value: `& < > " '`
/// as character references, and control characters and bidirectional overrides shown as
/// `\u{..}` escapes rather than obeyed.
pub fn esc(s: &str) -> String {
    let safe = super::terminal_safe(s);
    let mut out = String::with_capacity(safe.len() + 16);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_from_the_server_stays_text() {
        let e = esc("<script>alert('x')</script>\" onload=\"x\u{202e}");
        assert_eq!(
            e,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot; onload=&quot;x\\u{202e}"
        );
    }

    #[test]
    fn the_policy_allows_only_the_inline_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
        assert!(csp.contains(&csp_hash(SCRIPT)) && csp.contains(&csp_hash(STYLE)));
    }
}
