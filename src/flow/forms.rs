//! Recognising login pages and consent pages.
//!
//! The scanner drives an authorization server's interactive flow without a browser: it
//! fetches a page, asks [`classify`] what it is looking at, fills in the test user's
//! credentials (or presses the approve button) and submits the form the way a browser
//! would ([`HtmlForm::submission`], [`HtmlForm::action_url`]).
//!
//! Parsing uses a spec-compliant HTML5 parser, so broken or unclosed markup is repaired
//! the way a browser repairs it. Form ownership follows the browser rules that matter in
//! practice: the nearest ancestor `<form>`, the `form="id"` attribute, and the classic
//! `<table><form><tr>…` misnesting (where the parser leaves the `<form>` element empty
//! and the controls outside it). Nothing here panics on any input.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Selector};

use crate::target::LoginHints;

/// A submit button: a `<button>` of type submit (or without a type) or an
/// `<input type=submit|image>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Button {
    /// The `name` attribute, when present and non-empty.
    pub name: Option<String>,
    /// The `value` attribute, when present.
    pub value: Option<String>,
    /// Visible text (whitespace-collapsed), else the value, else `aria-label`/`title`/`alt`.
    pub label: String,
    /// The `id` attribute, when present and non-empty.
    pub id: Option<String>,
    /// `formaction`: where pressing this button submits, overriding the form's action.
    pub formaction: Option<String>,
    /// `formmethod`, normalised to `"GET"` or `"POST"`, overriding the form's method.
    pub formmethod: Option<String>,
}

/// One named form control.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// The current value: the `value` attribute (`"on"` for a checkbox/radio without one),
    /// the selected option of a `<select>`, the text of a `<textarea>`.
    pub value: String,
    /// Lowercase input type (`"text"` when absent or unknown), or `"select"` / `"textarea"`.
    pub kind: String,
    /// Checkbox/radio: whether it is checked. `<select>`: whether an option is selected
    /// (explicitly or by default), i.e. whether it submits anything. Ignored otherwise.
    pub checked: bool,
    /// Disabled controls (the `disabled` attribute, or inside a disabled `<fieldset>`) are
    /// never submitted by a browser.
    pub disabled: bool,
    /// The text of its `<label>`s, lowercase (what a person reads next to a checkbox).
    pub label: String,
}

/// A parsed `<form>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlForm {
    /// The raw `action` attribute (`None` when absent: submit to the page's own URL).
    pub action: Option<String>,
    /// `"GET"` or `"POST"`.
    pub method: String,
    /// Every named `<input>` (other than buttons), `<select>` and `<textarea>` owned by the
    /// form, in document order.
    pub fields: Vec<Field>,
    /// The form's submit buttons, in document order.
    pub buttons: Vec<Button>,
    /// The document's `<base href>`, against which the action resolves.
    pub base: Option<String>,
}

impl Default for HtmlForm {
    fn default() -> Self {
        HtmlForm {
            action: None,
            method: "GET".to_string(),
            fields: Vec::new(),
            buttons: Vec::new(),
            base: None,
        }
    }
}

/// What a page is, as far as the interactive flow is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageKind {
    Login(LoginForm),
    Consent(Box<ConsentForm>),
    /// A page a browser passes through on its own or with one obvious click.
    Interstitial(Interstitial),
    Other,
}

/// How a browser gets past an interstitial page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interstitial {
    /// `<meta http-equiv=refresh content="0; url=...">`: the raw URL, to resolve against the page.
    Refresh(String),
    /// A form that a script submits on load (SAML and OIDC brokers' auto-POST pages).
    AutoSubmit(HtmlForm),
    /// A lone "Continue" link, or the password sign-in among several ways to sign in: the raw href.
    Link(String),
    /// A step a person declines: "Skip" a second-factor set-up, "Not now".
    Press(HtmlForm, Button),
}

/// A login form. `password_field` is `None` on a username-first (identifier) step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginForm {
    pub form: HtmlForm,
    pub username_field: Option<String>,
    pub password_field: Option<String>,
}

/// A consent form and the button that approves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentForm {
    pub form: HtmlForm,
    pub approve: Button,
    /// The button that refuses, and its form: the same form, or another one on the page
    /// (Doorkeeper renders Authorize and Deny as two `button_to` forms).
    pub deny: Option<(HtmlForm, Button)>,
    /// A link that refuses, when no button does (node oidc-provider's "[ Cancel ]").
    pub deny_link: Option<String>,
    /// Consent given by following a link rather than submitting a form (Apereo CAS's "Allow").
    pub approve_link: Option<String>,
}

impl HtmlForm {
    /// Name/value pairs a browser would submit: every field with its current value
    /// (checkboxes/radios only when `checked`; a `<select>` its selected or first option,
    /// nothing for a `<select multiple>` with no selection; disabled fields never), then
    /// `fills` overriding by name, then the pressed button's name=value if it has a name.
    ///
    /// A fill replaces the first pair of that name and drops the others; a name given
    /// several times in `fills` yields several pairs; a fill for a name not present (an
    /// unchecked checkbox, a field added by script) is appended.
    pub fn submission(
        &self,
        fills: &[(&str, &str)],
        pressed: Option<&Button>,
    ) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for field in &self.fields {
            if field.disabled || field.name.is_empty() {
                continue;
            }
            let included = match field.kind.as_str() {
                "checkbox" | "radio" | "select" => field.checked,
                _ => true,
            };
            if included {
                pairs.push((field.name.clone(), field.value.clone()));
            }
        }

        let mut done: Vec<&str> = Vec::new();
        for (name, _) in fills {
            if done.contains(name) {
                continue;
            }
            done.push(name);
            let values: Vec<&str> = fills
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .collect();
            let replacement = values.iter().map(|v| (name.to_string(), v.to_string()));
            match pairs.iter().position(|(n, _)| n == name) {
                Some(at) => {
                    pairs.retain(|(n, _)| n != name);
                    let tail = pairs.split_off(at);
                    pairs.extend(replacement);
                    pairs.extend(tail);
                }
                None => pairs.extend(replacement),
            }
        }

        let pressed_name =
            pressed.and_then(|b| b.name.as_deref().filter(|n| !n.is_empty()).map(|n| (n, b)));
        if let Some((name, button)) = pressed_name {
            pairs.push((name.to_string(), button.value.clone().unwrap_or_default()));
        }
        pairs
    }

    /// Resolve the action against the page URL (absent or empty action => page URL,
    /// without its fragment), or against the document's `<base href>` when it has one.
    pub fn action_url(&self, page_url: &url::Url) -> Result<url::Url, url::ParseError> {
        self.resolve(page_url, self.action.as_deref())
    }

    /// Where and how pressing `pressed` submits (WHATWG: the button's `formaction` and
    /// `formmethod` override the form's).
    pub fn target(
        &self,
        page_url: &url::Url,
        pressed: Option<&Button>,
    ) -> Result<(String, url::Url), url::ParseError> {
        let action = pressed
            .and_then(|b| b.formaction.as_deref())
            .filter(|a| !trim_ascii_ws(a).is_empty())
            .or(self.action.as_deref());
        let method = pressed
            .and_then(|b| b.formmethod.clone())
            .unwrap_or_else(|| self.method.clone());
        Ok((method, self.resolve(page_url, action)?))
    }

    fn resolve(
        &self,
        page_url: &url::Url,
        action: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let action = action.map(trim_ascii_ws).unwrap_or("");
        if action.is_empty() {
            // The document's URL, query included: what the browser submits to.
            let mut own = page_url.clone();
            own.set_fragment(None);
            return Ok(own);
        }
        let base = match self.base.as_deref().map(trim_ascii_ws) {
            Some(href) if !href.is_empty() => {
                page_url.join(href).unwrap_or_else(|_| page_url.clone())
            }
            _ => page_url.clone(),
        };
        base.join(action)
    }

    /// The form as a person approving consent submits it: every unticked checkbox that stands
    /// for a scope the request asked for, or that says "I agree", ticked; anything else as it is.
    pub fn ticked_for_consent(&self, requested_scopes: &[&str]) -> HtmlForm {
        let mut form = self.clone();
        for field in form.fields.iter_mut() {
            if field.kind != "checkbox" || field.checked || field.disabled {
                continue;
            }
            let asked = requested_scopes.contains(&field.value.as_str())
                || (field.value == "on"
                    && requested_scopes.iter().any(|s| {
                        field.name.eq_ignore_ascii_case(s)
                            || tokens(&field.name).iter().any(|t| t == s)
                    }));
            if asked || is_agreement(field) {
                field.checked = true;
            }
        }
        form
    }

    /// The field of that name, if any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Every `<form>` of the page, in document order (forms inside `<template>` excluded).
pub fn parse_forms(html: &str) -> Vec<HtmlForm> {
    let (document, _) = super::html::parse(html);
    analyse(&document)
        .forms
        .into_iter()
        .map(|f| f.form)
        .collect()
}

/// The trimmed (whitespace-collapsed) `<title>`, else the first `<h1>`: [`Page::title`]
/// without reading the forms.
pub fn page_title(html: &str) -> Option<String> {
    let (document, _) = super::html::parse(html);
    let extras = page_extras(&document);
    extras.title.or(extras.heading)
}

/// Decide whether the page is a login page, a consent page, or something else.
pub fn classify(html: &str, hints: &LoginHints) -> PageKind {
    read_page(html, hints).kind
}

/// One page as the user agent reads it: what it is, and what a person would see of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub kind: PageKind,
    pub title: Option<String>,
    /// The page's error or status message (`role=alert`, an error box), when it shows one.
    pub message: Option<String>,
    /// Its forms: method, action, field names and types, buttons. Never field values.
    pub forms: Vec<FormSummary>,
    /// Its title, headings or message say that a sign-in failed ("Login Failed", "Invalid
    /// password"): the page a server shows instead of the login form after a wrong password.
    pub says_sign_in_failed: bool,
    /// The page was read only up to where it crossed a parsing bound, and why.
    pub cut: Option<super::html::Cut>,
    /// The start of what a person reads on it (whitespace collapsed, [`PAGE_TEXT_LIMIT`]
    /// bytes at most): an error page's own words, when it has no message box.
    pub text: String,
}

/// How much of a page's visible text [`Page::text`] keeps: an error page says what went wrong
/// near its top.
pub const PAGE_TEXT_LIMIT: usize = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSummary {
    pub method: String,
    pub action: Option<String>,
    /// `name:type`, in document order.
    pub fields: Vec<String>,
    /// Button labels, in document order.
    pub buttons: Vec<String>,
    /// Its submission runs a script (`onsubmit`, or an `onclick` on a submit button), which
    /// may change what is sent.
    pub scripted: bool,
}

impl Page {
    /// One line per form, for error messages and `oauthprobe login`.
    pub fn describe_forms(&self) -> String {
        let described = self.list_forms();
        match self.cut {
            Some(cut) => format!("{described} (the page was read only up to where {cut})"),
            None => described,
        }
    }

    fn list_forms(&self) -> String {
        if self.forms.is_empty() {
            return "no forms".to_string();
        }
        self.forms
            .iter()
            .enumerate()
            .map(|(i, f)| {
                format!(
                    "form {}: {} {} fields [{}] buttons [{}]",
                    i + 1,
                    f.method,
                    f.action.as_deref().map_or("(this page)".to_string(), |a| {
                        crate::http::redact::redact_by_name(&clip(a, 120))
                    }),
                    f.fields.join(", "),
                    f.buttons
                        .iter()
                        .map(|b| format!("{:?}", clip(b, 40)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Reads a page once: its kind (see [`classify`]), title, message and forms.
///
/// Order: a form picked by the `form_selector` hint; a form with a password field (or the
/// hinted password field); a username-first step; an interstitial a browser passes on its
/// own (a meta refresh, a form submitted by script on load); a consent form; a lone
/// "Continue" link; otherwise `Other`.
pub fn read_page(html: &str, hints: &LoginHints) -> Page {
    let (document, cut) = super::html::parse(html);
    let doc = analyse(&document);
    let extras = page_extras(&document);
    let kind = kind_of(&document, &doc, &extras, &Hints::from(hints));
    let forms = doc
        .forms
        .iter()
        .map(|f| FormSummary {
            method: f.form.method.clone(),
            action: f.form.action.clone(),
            fields: f
                .form
                .fields
                .iter()
                .map(|x| format!("{}:{}", x.name, x.kind))
                .collect(),
            buttons: f.form.buttons.iter().map(|b| b.label.clone()).collect(),
            scripted: f.el.value().attr("onsubmit").is_some()
                || f.controls.iter().any(|c| {
                    c.attr("onclick").is_some()
                        && (c.kind == "submit"
                            || (c.tag == Tag::Button
                                && c.attr("type")
                                    .is_none_or(|t| t.eq_ignore_ascii_case("submit"))))
                }),
        })
        .collect();
    let headline = format!(
        "{} {} {} {}",
        extras.title.as_deref().unwrap_or(""),
        extras.heading.as_deref().unwrap_or(""),
        extras.headings.join(" "),
        extras.message.as_deref().unwrap_or("")
    )
    .to_lowercase();
    let says_sign_in_failed = [
        "login failed",
        "log in failed",
        "sign-in failed",
        "sign in failed",
        "authentication failed",
        "incorrect password",
        "invalid password",
        "wrong password",
        "invalid credentials",
        "bad credentials",
        "invalid username or password",
        "incorrect username or password",
    ]
    .iter()
    .any(|p| headline.contains(p));
    Page {
        kind,
        title: extras.title.clone().or(extras.heading.clone()),
        message: extras.message.clone(),
        forms,
        says_sign_in_failed,
        cut,
        text: super::html::visible_text(&document, PAGE_TEXT_LIMIT),
    }
}

fn kind_of(document: &Html, doc: &Doc<'_>, extras: &Extras, hints: &Hints<'_>) -> PageKind {
    let selected = selected_form(document, doc, hints);
    if let Some(login) = selected.and_then(|index| login_from_selected(doc, index, hints)) {
        return PageKind::Login(login);
    }
    if let Some(login) = password_login(doc, hints) {
        return PageKind::Login(login);
    }
    if let Some(login) = username_first(doc, hints) {
        return PageKind::Login(login);
    }
    if doc.orphan_password {
        // A password box the scanner cannot submit without script: not a consent page.
        return PageKind::Other;
    }
    if let Some(url) = &extras.refresh {
        return PageKind::Interstitial(Interstitial::Refresh(url.clone()));
    }
    if let Some(form) = auto_submitted(doc, extras) {
        return PageKind::Interstitial(Interstitial::AutoSubmit(form));
    }
    if let Some(mut consent) = consent(doc, hints) {
        if consent.deny.is_none() {
            consent.deny_link = extras.refusal_link.clone();
        }
        return PageKind::Consent(Box::new(consent));
    }
    if let Some((href, label)) = &extras.approve_link {
        return PageKind::Consent(Box::new(ConsentForm {
            form: HtmlForm::default(),
            approve: Button {
                label: label.clone(),
                ..Button::default()
            },
            deny: None,
            deny_link: extras.refusal_link.clone(),
            approve_link: Some(href.clone()),
        }));
    }
    if let Some((form, button)) = skippable(doc) {
        return PageKind::Interstitial(Interstitial::Press(form, button));
    }
    if let Some(href) = extras
        .continue_link
        .as_ref()
        .or(extras.password_connector.as_ref())
    {
        return PageKind::Interstitial(Interstitial::Link(href.clone()));
    }
    PageKind::Other
}

/// A form whose only way on, short of setting something up, is a "Skip" / "Not now" button.
fn skippable(doc: &Doc<'_>) -> Option<(HtmlForm, Button)> {
    doc.forms.iter().find_map(|f| {
        if f.controls
            .iter()
            .any(|c| c.is_text_entry() || c.is_password())
        {
            return None;
        }
        f.form
            .buttons
            .iter()
            .find(|b| {
                let lower = collapse(&b.label).to_lowercase();
                [
                    "skip",
                    "not now",
                    "later",
                    "remind me later",
                    "maybe later",
                    "skip for now",
                ]
                .iter()
                .any(|w| lower == *w || lower.starts_with(&format!("{w} ")))
            })
            .map(|b| (f.form.clone(), b.clone()))
    })
}

/// What a page says besides its forms.
#[derive(Default)]
struct Extras {
    title: Option<String>,
    heading: Option<String>,
    /// The text of the first few `h1`-`h3` headings.
    headings: Vec<String>,
    message: Option<String>,
    /// The URL of a `<meta http-equiv=refresh>` that moves on within a few seconds.
    refresh: Option<String>,
    /// A script or `onload` handler that submits or clicks something.
    scripted_submit: bool,
    /// The href of the page's only "Continue"-like link.
    continue_link: Option<String>,
    /// A link that refuses ("Cancel", "Deny").
    refusal_link: Option<String>,
    /// A link that approves ("Allow", "Authorize"), and its text.
    approve_link: Option<(String, String)>,
    /// Among "Log in with ..." links, the one for a username and password (Dex's chooser).
    password_connector: Option<String>,
}

fn page_extras(document: &Html) -> Extras {
    let mut extras = Extras::default();
    let mut continue_links: Vec<String> = Vec::new();
    let mut links = 0usize;
    walk(document, |visit| {
        let el = &visit.el;
        if !is_html(el) {
            return None;
        }
        let value = el.value();
        let name = value.name();
        if let Some(handler) = value.attr("onload") {
            extras.scripted_submit |= submits(handler);
        }
        match name {
            "title" if extras.title.is_none() => {
                extras.title = Some(text_of(el)).filter(|t| !t.is_empty());
            }
            "h1" if extras.heading.is_none() => {
                extras.heading = Some(text_of(el)).filter(|t| !t.is_empty());
            }
            "h1" | "h2" | "h3" if extras.headings.len() < 4 => {
                extras.headings.push(text_of(el));
            }
            "script" => {
                extras.scripted_submit |= submits(&el.text().collect::<String>());
            }
            "meta" if extras.refresh.is_none() => {
                let refresh = value
                    .attr("http-equiv")
                    .is_some_and(|h| h.trim().eq_ignore_ascii_case("refresh"));
                if refresh {
                    extras.refresh = value.attr("content").and_then(refresh_target);
                }
            }
            "a" => {
                if let Some(href) = value.attr("href").map(str::trim) {
                    if !href.is_empty()
                        && !href.starts_with('#')
                        && !href.to_ascii_lowercase().starts_with("javascript:")
                    {
                        links += 1;
                        let text = text_of(el);
                        if is_continue(&text) {
                            continue_links.push(href.to_string());
                        }
                        let lower = text.to_lowercase();
                        let approving = Button {
                            label: text.clone(),
                            id: value.attr("id").map(str::to_string),
                            name: value.attr("name").map(str::to_string),
                            ..Button::default()
                        };
                        if extras.approve_link.is_none()
                            && approve_score(&approving).is_some_and(|score| score >= 6)
                        {
                            extras.approve_link = Some((href.to_string(), text.clone()));
                        }
                        if extras.refusal_link.is_none()
                            && matches!(judge(&text), Verdict::Deny)
                            && !LOGOUT_WORDS.iter().any(|w| lower.contains(w))
                        {
                            extras.refusal_link = Some(href.to_string());
                        }
                        let connector =
                            ["log in with", "login with", "sign in with", "continue with"]
                                .iter()
                                .any(|p| lower.starts_with(p));
                        let password_like = ["email", "password", "username", "ldap", "local"]
                            .iter()
                            .any(|w| lower.contains(w));
                        if connector && password_like && extras.password_connector.is_none() {
                            extras.password_connector = Some(href.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
        if extras.message.is_none() && !visit.ctx.hidden && !hides(el) && is_message_box(el) {
            let text = text_of(el);
            if !text.is_empty() && text.chars().count() <= 300 {
                extras.message = Some(text);
            }
        }
        None
    });
    // One obvious way on: a single Continue link (a menu of links is not an interstitial).
    if continue_links.len() == 1 && links <= 3 {
        extras.continue_link = continue_links.pop();
    }
    extras
}

/// An element that shows an error or a status to the user.
fn is_message_box(el: &ElementRef<'_>) -> bool {
    let value = el.value();
    if matches!(
        value.name(),
        "html" | "body" | "head" | "form" | "input" | "script" | "style"
    ) {
        return false;
    }
    if value
        .attr("role")
        .is_some_and(|r| r.eq_ignore_ascii_case("alert"))
    {
        return true;
    }
    let own = format!(
        "{} {}",
        value.attr("class").unwrap_or(""),
        value.attr("id").unwrap_or("")
    )
    .to_ascii_lowercase();
    [
        "error",
        "alert",
        "danger",
        "invalid",
        "feedback",
        "errornote",
        "flash",
        "message",
    ]
    .iter()
    .any(|w| own.contains(w))
}

/// `0; url=https://...` (quotes optional), when the page moves on within ten seconds.
fn refresh_target(content: &str) -> Option<String> {
    let (delay, rest) = content.split_once([';', ','])?;
    let delay: f64 = delay.trim().parse().ok()?;
    if !(0.0..=10.0).contains(&delay) {
        return None;
    }
    let rest = rest.trim();
    let url = match rest.get(..4) {
        Some(k) if k.eq_ignore_ascii_case("url=") => &rest[4..],
        _ => rest,
    };
    let url = url.trim().trim_matches(|c| c == '\'' || c == '"').trim();
    (!url.is_empty()).then(|| url.to_string())
}

fn submits(script: &str) -> bool {
    let lower = script.to_ascii_lowercase();
    lower.contains(".submit()") || lower.contains(".click()") || lower.contains(".requestsubmit(")
}

fn is_continue(text: &str) -> bool {
    let lower = text.to_lowercase();
    let toks = tokens(&lower);
    lower.starts_with("continu")
        || lower.starts_with("proceed")
        || lower == "next"
        || lower.starts_with("click here")
        || toks
            .iter()
            .any(|t| t == "weiter" || t == "continuer" || t == "continuar")
}

/// The form a script submits on load: the page runs a submit, and it has exactly one form a
/// person could not fill in (hidden fields only, no text box, no password).
fn auto_submitted(doc: &Doc<'_>, extras: &Extras) -> Option<HtmlForm> {
    if !extras.scripted_submit {
        return None;
    }
    let candidates: Vec<&FormInfo<'_>> = doc
        .forms
        .iter()
        .filter(|f| {
            !f.form.fields.is_empty()
                && !f.controls.iter().any(|c| {
                    c.is_text_entry() || c.is_password() || (c.visible && c.kind == "checkbox")
                })
        })
        .collect();
    match candidates.as_slice() {
        [only] if doc.forms.len() == 1 => Some(only.form.clone()),
        _ => None,
    }
}

/// Whether a checkbox says "I agree" (terms, consent, confirmation), not "remember me".
fn is_agreement(field: &Field) -> bool {
    let text = format!("{} {}", field.name, field.label).to_lowercase();
    let agrees = [
        "agree", "consent", "accept", "confirm", "terms", "approv", "authoriz", "authoris", "allow",
    ]
    .iter()
    .any(|w| text.contains(w));
    let other = [
        "remember",
        "newsletter",
        "marketing",
        "subscri",
        "always",
        "trust",
    ]
    .iter()
    .any(|w| text.contains(w));
    agrees && !other
}

// ---------------------------------------------------------------------------------------
// Document analysis
// ---------------------------------------------------------------------------------------

const HTML_NS: &str = "http://www.w3.org/1999/xhtml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Input,
    Select,
    Textarea,
    Button,
}

struct Control<'a> {
    el: ElementRef<'a>,
    tag: Tag,
    /// Normalised input type, or "select" / "textarea" / "button".
    kind: String,
    /// The name attribute ("" when absent).
    name: String,
    visible: bool,
    /// Hidden by a class or `aria-hidden` (a step the page's script reveals later).
    class_hidden: bool,
    disabled: bool,
    /// The nearest enclosing `<label>`.
    label: Option<ElementRef<'a>>,
}

impl Control<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.el.value().attr(name)
    }

    fn is_password(&self) -> bool {
        self.tag == Tag::Input && self.kind == "password"
    }

    /// A visible, enabled text-like input a person would type a username into.
    fn is_text_entry(&self) -> bool {
        self.tag == Tag::Input
            && matches!(self.kind.as_str(), "text" | "email" | "tel")
            && self.visible
            && !self.disabled
    }
}

struct FormInfo<'a> {
    el: ElementRef<'a>,
    controls: Vec<Control<'a>>,
    form: HtmlForm,
    /// Inside a `<search>` element or `role=search` (the form itself included).
    in_search: bool,
}

struct Doc<'a> {
    forms: Vec<FormInfo<'a>>,
    /// `<label for=id>` text by id (lowercase, collapsed).
    labels: HashMap<String, String>,
    /// A visible password input that belongs to no form.
    orphan_password: bool,
}

struct Hints<'h> {
    username: Option<&'h str>,
    password: Option<&'h str>,
    form_selector: Option<&'h str>,
    approve: Option<&'h str>,
}

impl<'h> From<&'h LoginHints> for Hints<'h> {
    fn from(h: &'h LoginHints) -> Self {
        let clean = |o: &'h Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty());
        Hints {
            username: clean(&h.username_field),
            password: clean(&h.password_field),
            form_selector: clean(&h.form_selector),
            approve: clean(&h.approve_button),
        }
    }
}

/// What an element inherits from its ancestors.
#[derive(Clone, Copy, Default)]
struct Ctx<'a> {
    /// Hidden by an ancestor's `hidden` attribute or inline style.
    hidden: bool,
    /// Hidden by an ancestor's utility class (`d-none`, `sr-only`, ...) or `aria-hidden`.
    class_hidden: bool,
    /// Disabled by an ancestor `<fieldset disabled>`.
    disabled: bool,
    /// Inside `<search>` or `role=search`.
    search: bool,
    /// Nearest ancestor form (index into the forms found so far).
    form: Option<usize>,
    table: Option<ElementRef<'a>>,
    label: Option<ElementRef<'a>>,
}

/// One element in document order, with what it inherits and its parent element.
struct Visit<'a> {
    el: ElementRef<'a>,
    ctx: Ctx<'a>,
    parent: Option<ElementRef<'a>>,
}

/// Walk the element tree in document order without recursion (deeply nested markup must
/// not overflow the stack), never entering `<template>` contents.
fn walk<'a>(document: &'a Html, mut visit: impl FnMut(&Visit<'a>) -> Option<usize>) {
    let mut stack: Vec<Visit<'a>> = vec![Visit {
        el: document.root_element(),
        ctx: Ctx::default(),
        parent: None,
    }];
    while let Some(current) = stack.pop() {
        let form_index = visit(&current);
        let el = current.el;
        let value = el.value();
        let name = value.name();
        let html = is_html(&el);
        let mut ctx = current.ctx;
        ctx.hidden |= hides(&el);
        ctx.class_hidden |= hidden_by_class(&el);
        if html {
            match name {
                "form" => ctx.form = form_index.or(ctx.form),
                "table" => ctx.table = Some(el),
                "label" => ctx.label = Some(el),
                "search" => ctx.search = true,
                _ => {}
            }
        }
        if value
            .attr("role")
            .is_some_and(|r| r.trim().eq_ignore_ascii_case("search"))
        {
            ctx.search = true;
        }
        let disabled_fieldset = html && name == "fieldset" && value.attr("disabled").is_some();
        let first_legend = if disabled_fieldset {
            el.child_elements().find(|c| c.value().name() == "legend")
        } else {
            None
        };
        let children: Vec<ElementRef<'a>> = el.child_elements().collect();
        for child in children.into_iter().rev() {
            let mut child_ctx = ctx;
            if disabled_fieldset && Some(child) != first_legend {
                child_ctx.disabled = true;
            }
            stack.push(Visit {
                el: child,
                ctx: child_ctx,
                parent: Some(el),
            });
        }
    }
}

/// Utility classes that hide an element until a script shows it (Bootstrap, Tailwind, ...).
fn hidden_by_class(el: &ElementRef<'_>) -> bool {
    el.value()
        .attr("aria-hidden")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || el.value().attr("class").is_some_and(|c| {
            c.split_ascii_whitespace().any(|t| {
                matches!(
                    t.to_ascii_lowercase().as_str(),
                    "d-none" | "hidden" | "sr-only" | "visually-hidden" | "is-hidden" | "hide"
                )
            })
        })
}

fn hides(el: &ElementRef<'_>) -> bool {
    el.value().attr("hidden").is_some()
        || el.value().attr("style").is_some_and(|style| {
            let s: String = style
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            s.contains("display:none") || s.contains("visibility:hidden")
        })
}

struct RawForm<'a> {
    pos: usize,
    el: ElementRef<'a>,
    /// Parent is a table part and the form has no children: the misnested-table case.
    table_orphan: bool,
    table: Option<ElementRef<'a>>,
    in_search: bool,
}

fn analyse(document: &Html) -> Doc<'_> {
    let mut forms: Vec<RawForm<'_>> = Vec::new();
    let mut raw_controls: Vec<(usize, Visit<'_>, Tag)> = Vec::new();
    // For each id, whether the first element carrying it is a form (and which).
    let mut ids: HashMap<String, Option<usize>> = HashMap::new();
    let mut labels: HashMap<String, String> = HashMap::new();
    let mut base: Option<String> = None;
    let mut pos = 0usize;

    walk(document, |visit| {
        pos += 1;
        let el = visit.el;
        if !is_html(&el) {
            return None;
        }
        let tag = el.value().name();
        if let Some(id) = el.value().id().filter(|id| !id.is_empty()) {
            let form_index = (tag == "form").then_some(forms.len());
            ids.entry(id.to_string()).or_insert(form_index);
        }
        let control = |t: Tag| {
            (
                pos,
                Visit {
                    el,
                    ctx: visit.ctx,
                    parent: visit.parent,
                },
                t,
            )
        };
        match tag {
            "form" => {
                let table_part = visit.parent.is_some_and(|p| {
                    matches!(
                        p.value().name(),
                        "table" | "tbody" | "thead" | "tfoot" | "tr"
                    )
                });
                let in_search = visit.ctx.search
                    || el
                        .value()
                        .attr("role")
                        .is_some_and(|r| r.trim().eq_ignore_ascii_case("search"));
                forms.push(RawForm {
                    pos,
                    el,
                    table_orphan: table_part && el.child_elements().next().is_none(),
                    table: visit.ctx.table,
                    in_search,
                });
                return Some(forms.len() - 1);
            }
            "input" => raw_controls.push(control(Tag::Input)),
            "select" => raw_controls.push(control(Tag::Select)),
            "textarea" => raw_controls.push(control(Tag::Textarea)),
            "button" => raw_controls.push(control(Tag::Button)),
            "base" if base.is_none() => {
                base = el.value().attr("href").map(str::to_string);
            }
            "label" => {
                if let Some(target) = el.value().attr("for").filter(|t| !t.is_empty()) {
                    labels
                        .entry(target.to_string())
                        .or_insert_with(|| lower_text(&el));
                }
            }
            _ => {}
        }
        None
    });

    let mut owned: Vec<Vec<Control<'_>>> = forms.iter().map(|_| Vec::new()).collect();
    let mut orphan_password = false;
    for (pos, visit, tag) in raw_controls {
        let owner = form_owner(&forms, &ids, pos, &visit);
        let control = make_control(&visit, tag);
        match owner {
            Some(index) => owned[index].push(control),
            None => orphan_password |= control.is_password() && control.visible,
        }
    }

    let forms = forms
        .into_iter()
        .zip(owned)
        .map(|(raw, controls)| {
            let form = build_form(&raw.el, &controls, &labels, base.as_deref());
            FormInfo {
                el: raw.el,
                controls,
                form,
                in_search: raw.in_search,
            }
        })
        .collect();
    Doc {
        forms,
        labels,
        orphan_password,
    }
}

/// The index (into `forms`) of the form owning a control, browser-style.
fn form_owner(
    forms: &[RawForm<'_>],
    ids: &HashMap<String, Option<usize>>,
    pos: usize,
    visit: &Visit<'_>,
) -> Option<usize> {
    if let Some(form_id) = visit.el.value().attr("form") {
        // An explicit form owner; a dangling reference means no owner at all.
        return ids.get(form_id).copied().flatten();
    }
    if visit.ctx.form.is_some() {
        return visit.ctx.form;
    }
    // `<table><form><tr><td><input>`: the parser leaves the form empty in the table and
    // the browser still associates the following controls of that table with it.
    let index = forms.iter().rposition(|f| f.pos < pos)?;
    let form = &forms[index];
    (form.table_orphan && form.table.is_some() && form.table == visit.ctx.table).then_some(index)
}

fn make_control<'a>(visit: &Visit<'a>, tag: Tag) -> Control<'a> {
    let el = visit.el;
    let kind = match tag {
        Tag::Input => input_kind(el.value().attr("type")),
        Tag::Select => "select".to_string(),
        Tag::Textarea => "textarea".to_string(),
        Tag::Button => "button".to_string(),
    };
    let name = el.value().attr("name").unwrap_or("").to_string();
    let visible = kind != "hidden" && !visit.ctx.hidden && !hides(&el);
    let class_hidden = visit.ctx.class_hidden || hidden_by_class(&el);
    let disabled = visit.ctx.disabled || el.value().attr("disabled").is_some();
    Control {
        el,
        tag,
        kind,
        name,
        visible,
        class_hidden,
        disabled,
        label: visit.ctx.label,
    }
}

fn input_kind(raw: Option<&str>) -> String {
    const KNOWN: &[&str] = &[
        "text",
        "search",
        "tel",
        "url",
        "email",
        "password",
        "date",
        "month",
        "week",
        "time",
        "datetime-local",
        "number",
        "range",
        "color",
        "checkbox",
        "radio",
        "file",
        "submit",
        "image",
        "reset",
        "button",
        "hidden",
    ];
    let lower = raw.map(trim_ascii_ws).unwrap_or("").to_ascii_lowercase();
    if KNOWN.contains(&lower.as_str()) {
        lower
    } else {
        // Browsers treat a missing or unknown type as text.
        "text".to_string()
    }
}

fn build_form(
    el: &ElementRef<'_>,
    controls: &[Control<'_>],
    labels: &HashMap<String, String>,
    base: Option<&str>,
) -> HtmlForm {
    let method = match el
        .value()
        .attr("method")
        .map(|m| trim_ascii_ws(m).to_ascii_lowercase())
    {
        Some(m) if m == "post" => "POST",
        _ => "GET",
    };
    let mut form = HtmlForm {
        action: el.value().attr("action").map(str::to_string),
        method: method.to_string(),
        fields: Vec::new(),
        buttons: Vec::new(),
        base: base.map(str::to_string),
    };
    for control in controls {
        if let Some(button) = as_button(control) {
            form.buttons.push(button);
        } else if let Some(mut field) = as_field(control) {
            field.label = label_text(labels, control);
            form.fields.push(field);
        }
    }
    form
}

fn as_button(control: &Control<'_>) -> Option<Button> {
    let el = &control.el;
    let attr = |n: &str| el.value().attr(n);
    let non_empty = |n: &str| attr(n).filter(|v| !v.is_empty()).map(str::to_string);
    let fallback = || {
        ["aria-label", "title"]
            .iter()
            .filter_map(|n| attr(n))
            .map(collapse)
            .find(|s| !s.is_empty())
    };
    let label = match control.tag {
        Tag::Button => {
            let kind = attr("type").map(|t| trim_ascii_ws(t).to_ascii_lowercase());
            if matches!(kind.as_deref(), Some("button" | "reset")) {
                return None;
            }
            let text = text_of(el);
            if !text.is_empty() {
                text
            } else {
                attr("value")
                    .map(collapse)
                    .filter(|v| !v.is_empty())
                    .or_else(fallback)
                    .unwrap_or_default()
            }
        }
        Tag::Input if control.kind == "submit" => attr("value")
            .map(collapse)
            .filter(|v| !v.is_empty())
            .or_else(fallback)
            .unwrap_or_else(|| "Submit".to_string()),
        Tag::Input if control.kind == "image" => attr("alt")
            .map(collapse)
            .filter(|v| !v.is_empty())
            .or_else(|| attr("value").map(collapse).filter(|v| !v.is_empty()))
            .or_else(fallback)
            .unwrap_or_else(|| "Submit".to_string()),
        _ => return None,
    };
    let formmethod = attr("formmethod").map(|m| {
        if trim_ascii_ws(m).eq_ignore_ascii_case("post") {
            "POST".to_string()
        } else {
            "GET".to_string()
        }
    });
    Some(Button {
        name: non_empty("name"),
        value: attr("value").map(str::to_string),
        label,
        id: non_empty("id"),
        formaction: attr("formaction").map(str::to_string),
        formmethod,
    })
}

fn as_field(control: &Control<'_>) -> Option<Field> {
    if control.name.is_empty() {
        return None;
    }
    let el = &control.el;
    let (value, checked) = match control.tag {
        Tag::Input => {
            if matches!(
                control.kind.as_str(),
                "submit" | "image" | "reset" | "button"
            ) {
                return None;
            }
            let raw = el.value().attr("value");
            if matches!(control.kind.as_str(), "checkbox" | "radio") {
                (
                    raw.unwrap_or("on").to_string(),
                    el.value().attr("checked").is_some(),
                )
            } else {
                (raw.unwrap_or("").to_string(), false)
            }
        }
        Tag::Textarea => (el.text().collect::<String>(), false),
        Tag::Select => match selected_option(el) {
            Some(v) => (v, true),
            None => (String::new(), false),
        },
        Tag::Button => return None,
    };
    Some(Field {
        name: control.name.clone(),
        value,
        kind: control.kind.clone(),
        checked,
        disabled: control.disabled,
        label: String::new(),
    })
}

/// The value a `<select>` submits: its selected option (the last one marked `selected`
/// for a single select, the first for a multiple one), else for a single select the
/// first enabled option. A multiple select with nothing selected submits nothing.
fn selected_option(select: &ElementRef<'_>) -> Option<String> {
    let options: Vec<ElementRef<'_>> = select
        .descendent_elements()
        .filter(|e| e.value().name() == "option")
        .collect();
    let multiple = select.value().attr("multiple").is_some();
    let mut marked = options
        .iter()
        .filter(|o| o.value().attr("selected").is_some());
    let chosen = if multiple {
        marked.next()
    } else {
        marked.next_back()
    };
    let chosen = match chosen {
        Some(o) => Some(o),
        None if multiple => None,
        None => options
            .iter()
            .find(|o| o.value().attr("disabled").is_none()),
    }?;
    Some(match chosen.value().attr("value") {
        Some(v) => v.to_string(),
        None => text_of(chosen),
    })
}

fn is_html(el: &ElementRef<'_>) -> bool {
    &*el.value().name.ns == HTML_NS
}

// ---------------------------------------------------------------------------------------
// Login detection
// ---------------------------------------------------------------------------------------

/// Substrings of a name/id/label that suggest a username.
const USER_WORDS: &[&str] = &[
    "user",
    "login",
    "logon",
    "signin",
    "sign-in",
    "mail",
    "identifier",
    "account",
    "principal",
    "benutzer",
    "nutzer",
    "utilisateur",
    "usuario",
    "identifiant",
    "courriel",
    "correo",
];
/// Whole tokens that suggest a username.
const USER_TOKENS: &[&str] = &["uid", "upn", "username", "email"];
/// Substrings that rule a field out as a username field.
const NOT_USER_WORDS: &[&str] = &[
    "search",
    "query",
    "captcha",
    "otp",
    "code",
    "token",
    "csrf",
    "xsrf",
    "challenge",
    "pass",
    "pwd",
    "verif",
    "redirect",
    "return",
    "remember",
    "nonce",
    "newsletter",
    "subscri",
    "coupon",
    "promo",
];
/// Whole tokens that rule a field out as a username field.
const NOT_USER_TOKENS: &[&str] = &["q", "s", "pin", "state", "url", "mfa", "2fa", "sms"];

fn has_user_word(s: &str) -> bool {
    USER_WORDS.iter().any(|w| s.contains(w))
        || tokens(s).iter().any(|t| USER_TOKENS.contains(&t.as_str()))
}

fn has_not_user_word(s: &str) -> bool {
    NOT_USER_WORDS.iter().any(|w| s.contains(w))
        || tokens(s)
            .iter()
            .any(|t| NOT_USER_TOKENS.contains(&t.as_str()))
}

fn autocomplete_tokens(control: &Control<'_>) -> Vec<String> {
    control
        .attr("autocomplete")
        .map(|a| {
            a.split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

fn autocomplete_is_username(control: &Control<'_>) -> bool {
    let tokens = autocomplete_tokens(control);
    tokens.iter().any(|t| t == "username" || t == "email")
        && !tokens.iter().any(|t| t == "one-time-code")
}

/// Label text: `<label for=id>` plus any enclosing `<label>` (lowercase).
fn label_of(doc: &Doc<'_>, control: &Control<'_>) -> String {
    label_text(&doc.labels, control)
}

fn label_text(labels: &HashMap<String, String>, control: &Control<'_>) -> String {
    let mut out = String::new();
    if let Some(text) = control.el.value().id().and_then(|id| labels.get(id)) {
        out.push_str(text);
    }
    if let Some(label) = control.label {
        out.push(' ');
        out.push_str(&lower_text(&label));
    }
    out.trim().to_string()
}

/// Does this control's name/id/autocomplete/type/label suggest a username?
fn suggests_username(doc: &Doc<'_>, control: &Control<'_>) -> bool {
    if autocomplete_is_username(control) {
        return true;
    }
    let strong = format!(
        "{} {}",
        control.name.to_lowercase(),
        control.attr("id").unwrap_or("").to_lowercase()
    );
    if has_not_user_word(&strong) {
        return false;
    }
    if has_user_word(&strong) || control.kind == "email" {
        return true;
    }
    let weak = format!(
        "{} {} {} {}",
        label_of(doc, control),
        control.attr("placeholder").unwrap_or("").to_lowercase(),
        control.attr("aria-label").unwrap_or("").to_lowercase(),
        control.attr("title").unwrap_or("").to_lowercase(),
    );
    has_user_word(&weak) && !has_not_user_word(&weak)
}

/// Fields that look like something other than a username even when they are the only
/// text box before the password (a captcha, a one-time code, a search box). Deliberately
/// narrower than [`has_not_user_word`]: ForgeRock's username box is called `IDToken1`.
fn clearly_not_username(control: &Control<'_>) -> bool {
    let strong = format!(
        "{} {} {}",
        control.name.to_lowercase(),
        control.attr("id").unwrap_or("").to_lowercase(),
        control.attr("autocomplete").unwrap_or("").to_lowercase(),
    );
    ["captcha", "otp", "one-time-code", "search", "query"]
        .iter()
        .any(|w| strong.contains(w))
        || tokens(&strong).iter().any(|t| t == "q" || t == "s")
}

fn find_named<'c, 'a>(form: &'c FormInfo<'a>, name: &str) -> Option<(usize, &'c Control<'a>)> {
    form.controls
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == name && c.tag != Tag::Button && !is_button_kind(c))
}

fn is_button_kind(control: &Control<'_>) -> bool {
    control.tag == Tag::Input
        && matches!(
            control.kind.as_str(),
            "submit" | "image" | "reset" | "button"
        )
}

/// The password input of a form: the hinted one, else a `current-password` one, else the
/// first visible one, else the first one. The index is into `controls`.
fn password_of(form: &FormInfo<'_>, hints: &Hints<'_>) -> Option<(usize, Option<String>)> {
    if let Some((index, control)) = hints.password.and_then(|hint| find_named(form, hint)) {
        return Some((index, Some(control.name.clone())));
    }
    // A password box that a class hides beside a visible username box is the next step, shown
    // by script once the username is in (Kanidm): this page asks for the username first.
    let username_step = form
        .controls
        .iter()
        .any(|c| c.is_text_entry() && !c.class_hidden);
    let passwords: Vec<(usize, &Control<'_>)> = form
        .controls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_password() && !(username_step && c.class_hidden))
        .collect();
    let pick = passwords
        .iter()
        .find(|(_, c)| {
            !c.name.is_empty()
                && autocomplete_tokens(c)
                    .iter()
                    .any(|t| t == "current-password")
        })
        .or_else(|| {
            passwords
                .iter()
                .find(|(_, c)| !c.name.is_empty() && c.visible)
        })
        .or_else(|| passwords.iter().find(|(_, c)| !c.name.is_empty()))
        .or_else(|| passwords.first())?;
    let name = (!pick.1.name.is_empty()).then(|| pick.1.name.clone());
    Some((pick.0, name))
}

/// The username input of a form, `before` being the index of its password input (if any).
fn username_of(
    doc: &Doc<'_>,
    form: &FormInfo<'_>,
    hints: &Hints<'_>,
    before: Option<usize>,
) -> Option<String> {
    if let Some((_, control)) = hints.username.and_then(|hint| find_named(form, hint)) {
        return Some(control.name.clone());
    }
    let named = |c: &&Control<'_>| !c.name.is_empty() && Some(c.name.as_str()) != hints.password;
    // An explicit autocomplete=username/email wins, even on a pre-filled hidden-by-CSS box.
    if let Some(c) = form.controls.iter().filter(named).find(|c| {
        c.tag == Tag::Input && c.kind != "hidden" && !c.is_password() && autocomplete_is_username(c)
    }) {
        return Some(c.name.clone());
    }
    let entries: Vec<(usize, &Control<'_>)> = form
        .controls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_text_entry() && named(c))
        .collect();
    let limit = before.unwrap_or(usize::MAX);
    let preceding = || entries.iter().rev().filter(|(i, _)| *i < limit);
    preceding()
        .find(|(_, c)| suggests_username(doc, c))
        .or_else(|| preceding().find(|(_, c)| !clearly_not_username(c)))
        .or_else(|| entries.iter().find(|(_, c)| suggests_username(doc, c)))
        .map(|(_, c)| c.name.clone())
}

/// Text describing what a form is for: its action, id, class, name and button labels.
fn form_purpose(form: &FormInfo<'_>) -> String {
    let mut out = String::new();
    for attr in ["action", "id", "class", "name", "aria-label"] {
        if let Some(v) = form.el.value().attr(attr) {
            out.push_str(&v.to_lowercase());
            out.push(' ');
        }
    }
    for b in &form.form.buttons {
        out.push_str(&b.label.to_lowercase());
        out.push(' ');
        for v in [&b.name, &b.value, &b.id].into_iter().flatten() {
            out.push_str(&v.to_lowercase());
            out.push(' ');
        }
    }
    out
}

fn is_recovery_form(form: &FormInfo<'_>) -> bool {
    let purpose = form_purpose(form);
    [
        "forgot",
        "reset",
        "recover",
        "lost",
        "newsletter",
        "subscribe",
    ]
    .iter()
    .any(|w| purpose.contains(w))
}

fn is_signup_form(form: &FormInfo<'_>) -> bool {
    let purpose = form_purpose(form);
    [
        "register",
        "signup",
        "sign-up",
        "sign up",
        "create account",
        "create an account",
    ]
    .iter()
    .any(|w| purpose.contains(w))
}

fn is_search_form(form: &FormInfo<'_>) -> bool {
    let el = &form.el;
    if form.in_search {
        return true;
    }
    let own: String = ["action", "id", "class", "name"]
        .iter()
        .filter_map(|a| el.value().attr(a))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if own.contains("search") {
        return true;
    }
    let search_control = form.controls.iter().any(|c| {
        if c.tag == Tag::Input && c.kind == "search" {
            return true;
        }
        if !c.is_text_entry() {
            return false;
        }
        let name = c.name.to_lowercase();
        matches!(
            name.as_str(),
            "q" | "s" | "query" | "search" | "keyword" | "keywords" | "term" | "terms"
        ) || format!(
            "{} {} {}",
            name,
            c.attr("id").unwrap_or(""),
            c.attr("placeholder").unwrap_or("")
        )
        .to_lowercase()
        .contains("search")
    });
    search_control
        || form
            .form
            .buttons
            .iter()
            .any(|b| b.label.to_lowercase().contains("search"))
}

/// The form picked by the `form_selector` hint: the first matched element that is a form,
/// contains a form, or is inside one.
fn selected_form(document: &Html, doc: &Doc<'_>, hints: &Hints<'_>) -> Option<usize> {
    let selector = Selector::parse(hints.form_selector?).ok()?;
    let index_of = |el: &ElementRef<'_>| doc.forms.iter().position(|f| f.el == *el);
    document.select(&selector).find_map(|el| {
        if el.value().name() == "form" {
            return index_of(&el);
        }
        el.descendent_elements()
            .filter(|d| d.value().name() == "form")
            .find_map(|d| index_of(&d))
            .or_else(|| {
                el.ancestors()
                    .filter_map(ElementRef::wrap)
                    .find(|a| a.value().name() == "form")
                    .and_then(|a| index_of(&a))
            })
    })
}

fn login_from_selected(doc: &Doc<'_>, index: usize, hints: &Hints<'_>) -> Option<LoginForm> {
    let form = &doc.forms[index];
    let password = password_of(form, hints);
    let has_entry = form.controls.iter().any(Control::is_text_entry)
        || hints
            .username
            .is_some_and(|h| find_named(form, h).is_some());
    if password.is_none() && !has_entry {
        return None;
    }
    let before = password.as_ref().map(|(i, _)| *i);
    let mut username = username_of(doc, form, hints, before);
    if username.is_none() && password.is_none() {
        username = form
            .controls
            .iter()
            .find(|c| c.is_text_entry() && !c.name.is_empty())
            .map(|c| c.name.clone());
    }
    Some(LoginForm {
        form: form.form.clone(),
        username_field: username,
        password_field: password.and_then(|(_, name)| name),
    })
}

/// The best form with a password input (or the hinted password field).
fn password_login(doc: &Doc<'_>, hints: &Hints<'_>) -> Option<LoginForm> {
    let mut best: Option<(i32, LoginForm)> = None;
    for form in &doc.forms {
        let Some((at, password_name)) = password_of(form, hints) else {
            continue;
        };
        let passwords: Vec<&Control<'_>> =
            form.controls.iter().filter(|c| c.is_password()).collect();
        let username = username_of(doc, form, hints, Some(at));
        let mut score = 0;
        if hints.password.is_some() && password_name.as_deref() == hints.password {
            score += 20;
        }
        if hints.username.is_some() && username.as_deref() == hints.username {
            score += 10;
        }
        if passwords.len() == 1 {
            score += 4;
        }
        if passwords.len() > 1
            || passwords
                .iter()
                .any(|c| autocomplete_tokens(c).iter().any(|t| t == "new-password"))
        {
            score -= 3;
        }
        if passwords.iter().any(|c| c.visible) {
            score += 1;
        }
        if username.is_some() {
            score += 2;
        }
        if is_recovery_form(form) || is_signup_form(form) {
            score -= 2;
        }
        if is_search_form(form) {
            score -= 2;
        }
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            let login = LoginForm {
                form: form.form.clone(),
                username_field: username,
                password_field: password_name,
            };
            best = Some((score, login));
        }
    }
    best.map(|(_, login)| login)
}

/// An identifier-first step: no password, one visible username-like text box, a button.
fn username_first(doc: &Doc<'_>, hints: &Hints<'_>) -> Option<LoginForm> {
    // A hinted username field, visible in some form, settles it.
    if let Some(hint) = hints.username {
        for form in &doc.forms {
            let visible = find_named(form, hint).filter(|(_, c)| c.visible);
            if let Some((_, control)) = visible {
                return Some(LoginForm {
                    form: form.form.clone(),
                    username_field: Some(control.name.clone()),
                    password_field: None,
                });
            }
        }
    }
    let mut best: Option<(i32, LoginForm)> = None;
    for form in &doc.forms {
        if form.form.buttons.is_empty()
            || form
                .controls
                .iter()
                .any(|c| c.is_password() && !c.class_hidden)
        {
            continue;
        }
        let entries: Vec<&Control<'_>> = form
            .controls
            .iter()
            .filter(|c| c.is_text_entry() && !c.class_hidden)
            .collect();
        let [entry] = entries.as_slice() else {
            continue;
        };
        if entry.name.is_empty()
            || !suggests_username(doc, entry)
            || is_search_form(form)
            || is_recovery_form(form)
        {
            continue;
        }
        let mut score = 0;
        if entry.kind == "email" || autocomplete_is_username(entry) {
            score += 1;
        }
        if is_signup_form(form) {
            score -= 2;
        }
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            let login = LoginForm {
                form: form.form.clone(),
                username_field: Some(entry.name.clone()),
                password_field: None,
            };
            best = Some((score, login));
        }
    }
    best.map(|(_, login)| login)
}

// ---------------------------------------------------------------------------------------
// Consent detection
// ---------------------------------------------------------------------------------------

/// Substrings that make a button a refusal (checked before the approve words, so that
/// "Disallow", "Disagree" and "Don't allow" are never taken for approval).
const DENY_WORDS: &[&str] = &[
    "deny", "denied", "cancel", "reject", "declin", "refus", "disallow", "disagree", "abort",
    "revoke",
];
/// Substrings that, in any of a button's label, name, value or id, make it a logout button
/// ("Yes" on a logout confirmation is not a consent).
const LOGOUT_WORDS: &[&str] = &[
    "logout", "log out", "log-out", "signout", "sign out", "sign-out",
];
/// Whole tokens that make a button a refusal.
const DENY_TOKENS: &[&str] = &["no", "not", "dont", "false", "never", "nope"];
/// Substrings of a clear approval.
const APPROVE_STRONG: &[&str] = &[
    "approv", "allow", "accept", "authoriz", "authoris", "consent", "grant", "agree",
];
/// Substrings of a weaker approval.
const APPROVE_WEAK: &[&str] = &["continu", "confirm", "proceed"];

enum Verdict {
    Deny,
    Approve(i32),
    Neutral,
}

fn judge(text: &str) -> Verdict {
    let lower: String = text
        .to_lowercase()
        .chars()
        .filter(|c| *c != '\'' && *c != '\u{2019}')
        .collect();
    let toks = tokens(&lower);
    let has_token = |set: &[&str]| toks.iter().any(|t| set.contains(&t.as_str()));
    if DENY_WORDS.iter().any(|w| lower.contains(w)) || has_token(DENY_TOKENS) {
        return Verdict::Deny;
    }
    let strength = if APPROVE_STRONG.iter().any(|w| lower.contains(w)) || has_token(&["yes"]) {
        3
    } else if APPROVE_WEAK.iter().any(|w| lower.contains(w)) {
        2
    } else {
        return Verdict::Neutral;
    };
    // "Continue with Google" is a social-login button, not an approval.
    if has_token(&["with", "using", "via"]) {
        Verdict::Approve(1)
    } else {
        Verdict::Approve(strength)
    }
}

/// How strongly a button approves, judging its label, then value, id and name: the first
/// of those that says anything decides. `None` for a refusal or a neutral button.
fn approve_score(button: &Button) -> Option<i32> {
    let sources = [
        Some(button.label.as_str()),
        button.value.as_deref(),
        button.id.as_deref(),
        button.name.as_deref(),
    ];
    let logout = sources.iter().flatten().any(|s| {
        let lower = s.to_lowercase();
        LOGOUT_WORDS.iter().any(|w| lower.contains(w))
    });
    if logout {
        return None;
    }
    for (rank, source) in sources.into_iter().enumerate() {
        let Some(text) = source else { continue };
        match judge(text) {
            Verdict::Deny => return None,
            Verdict::Approve(strength) => return Some(strength * 2 + i32::from(rank == 0)),
            Verdict::Neutral => {}
        }
    }
    None
}

/// The `approve_button` hint names the button by label, name, value or id, exactly up to
/// case and surrounding/internal whitespace runs.
fn matches_hint(button: &Button, hint: &str) -> bool {
    let hint = collapse(hint).to_lowercase();
    [
        Some(&button.label),
        button.name.as_ref(),
        button.value.as_ref(),
        button.id.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|s| collapse(s).to_lowercase() == hint)
}

fn consent(doc: &Doc<'_>, hints: &Hints<'_>) -> Option<ConsentForm> {
    let candidates = doc
        .forms
        .iter()
        .filter(|f| !f.controls.iter().any(Control::is_password));
    if let Some(hint) = hints.approve {
        for form in candidates.clone() {
            if let Some(button) = form.form.buttons.iter().find(|b| matches_hint(b, hint)) {
                return Some(ConsentForm {
                    form: form.form.clone(),
                    approve: button.clone(),
                    deny: refusal(doc, form),
                    deny_link: None,
                    approve_link: None,
                });
            }
        }
    }
    let mut best: Option<(i32, &FormInfo<'_>, &Button)> = None;
    for form in candidates {
        // A form that wants typed input (a device code, a search) is a poorer match.
        let wants_input = form
            .controls
            .iter()
            .any(|c| c.is_text_entry() && c.attr("value").is_none_or(str::is_empty));
        for button in &form.form.buttons {
            let Some(mut score) = approve_score(button) else {
                continue;
            };
            if wants_input {
                score -= 2;
            }
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, form, button));
            }
        }
    }
    if let Some((_, form, button)) = best {
        return Some(ConsentForm {
            form: form.form.clone(),
            approve: button.clone(),
            deny: refusal(doc, form),
            deny_link: None,
            approve_link: None,
        });
    }
    agreement_consent(doc)
}

/// A form that asks for an "I agree" tick and has one neutral submit ("Submit"): ticked, it
/// approves; left unticked, it refuses (Authlib's example server).
fn agreement_consent(doc: &Doc<'_>) -> Option<ConsentForm> {
    doc.forms.iter().find_map(|f| {
        let asks = f
            .form
            .fields
            .iter()
            .any(|x| x.kind == "checkbox" && !x.checked && !x.disabled && is_agreement(x));
        let wants_input = f.controls.iter().any(|c| {
            c.is_password() || (c.is_text_entry() && c.attr("value").is_none_or(str::is_empty))
        });
        let button = f.form.buttons.iter().find(|b| !is_refusal(b))?;
        (asks && !wants_input).then(|| ConsentForm {
            form: f.form.clone(),
            approve: button.clone(),
            deny: refusal(doc, f).or_else(|| Some((f.form.clone(), button.clone()))),
            deny_link: None,
            approve_link: None,
        })
    })
}

/// The button that refuses consent: in the approving form first, then in any other form of
/// the page without a password box.
fn refusal(doc: &Doc<'_>, approving: &FormInfo<'_>) -> Option<(HtmlForm, Button)> {
    let others = doc
        .forms
        .iter()
        .filter(|f| f.el != approving.el && !f.controls.iter().any(Control::is_password));
    std::iter::once(approving)
        .chain(others)
        .find_map(|form| {
            form.form
                .buttons
                .iter()
                .find(|b| is_refusal(b))
                .map(|b| (form.form.clone(), b.clone()))
        })
        .or_else(|| scripted_refusal(approving))
}

/// A `type=button` refusal whose script submits the form as it stands (Spring Authorization
/// Server's Cancel: `reset()` then `submit()`): the form with its defaults, no button pressed.
fn scripted_refusal(form: &FormInfo<'_>) -> Option<(HtmlForm, Button)> {
    form.controls.iter().find_map(|c| {
        let scripted = c.tag == Tag::Button
            || (c.tag == Tag::Input && matches!(c.kind.as_str(), "button" | "reset"));
        let submits_form = c.attr("onclick").is_some_and(|js| {
            let js = js.to_ascii_lowercase();
            js.contains("submit") || js.contains("cancel") || js.contains("deny")
        });
        if !scripted || !submits_form {
            return None;
        }
        let text = text_of(&c.el);
        let label = if text.is_empty() {
            c.attr("value").map(collapse).unwrap_or_default()
        } else {
            text
        };
        let button = Button {
            label,
            ..Button::default()
        };
        is_refusal(&button).then(|| {
            let mut defaults = form.form.clone();
            defaults.buttons.clear();
            (defaults, button)
        })
    })
}

/// A button whose label (else value, id, name) says no: Deny, Cancel, Decline, No, ...
pub fn is_refusal(button: &Button) -> bool {
    let sources = [
        Some(button.label.as_str()),
        button.value.as_deref(),
        button.id.as_deref(),
        button.name.as_deref(),
    ];
    let logout = sources.iter().flatten().any(|s| {
        let lower = s.to_lowercase();
        LOGOUT_WORDS.iter().any(|w| lower.contains(w))
    });
    if logout {
        return false;
    }
    for text in sources.into_iter().flatten() {
        match judge(text) {
            Verdict::Deny => return true,
            Verdict::Approve(_) => return false,
            Verdict::Neutral => {}
        }
    }
    false
}

// ---------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------

/// At most `max` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

fn trim_ascii_ws(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn lower_text(el: &ElementRef<'_>) -> String {
    text_of(el).to_lowercase()
}

/// No label, title, heading or message a person reads is longer.
const TEXT_LIMIT: usize = 2048;

/// An element's collapsed text, read no further than [`TEXT_LIMIT`] bytes: collecting the
/// whole subtree of every element of a deeply nested page would be quadratic.
fn text_of(el: &ElementRef<'_>) -> String {
    let mut text = String::new();
    for piece in el.text() {
        if text.len() + piece.len() > TEXT_LIMIT {
            let room = TEXT_LIMIT.saturating_sub(text.len());
            let cut = (0..=room)
                .rev()
                .find(|&i| piece.is_char_boundary(i))
                .unwrap_or(0);
            text.push_str(&piece[..cut]);
            break;
        }
        text.push_str(piece);
    }
    collapse(&text)
}

/// Lowercase alphanumeric tokens.
fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn no_hints() -> LoginHints {
        LoginHints::default()
    }

    fn login(html: &str, hints: &LoginHints) -> LoginForm {
        match classify(html, hints) {
            PageKind::Login(l) => l,
            other => panic!("expected a login page, got {other:?}"),
        }
    }

    fn consent_of(html: &str, hints: &LoginHints) -> ConsentForm {
        match classify(html, hints) {
            PageKind::Consent(c) => *c,
            other => panic!("expected a consent page, got {other:?}"),
        }
    }

    fn names(form: &HtmlForm) -> Vec<&str> {
        form.fields.iter().map(|f| f.name.as_str()).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_login_form_with_csrf() {
        let html = r#"<!doctype html><html><head><title> Sign in </title></head><body>
            <form method="post" action="/login">
              <input type="hidden" name="csrf_token" value="abc123">
              <input type="text" name="username">
              <input type="password" name="password">
              <button type="submit">Sign in</button>
            </form></body></html>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("username"));
        assert_eq!(l.password_field.as_deref(), Some("password"));
        assert_eq!(l.form.method, "POST");
        assert_eq!(l.form.action.as_deref(), Some("/login"));
        assert_eq!(names(&l.form), ["csrf_token", "username", "password"]);
        assert_eq!(l.form.fields[0].kind, "hidden");
        assert_eq!(l.form.buttons.len(), 1);
        assert_eq!(l.form.buttons[0].label, "Sign in");
        assert_eq!(
            l.form
                .submission(&[("username", "alice"), ("password", "s3cret")], None),
            pairs(&[
                ("csrf_token", "abc123"),
                ("username", "alice"),
                ("password", "s3cret")
            ])
        );
    }

    #[test]
    fn field_named_login_inside_table() {
        let html = r#"<form action="j_security_check" method=POST><table>
            <tr><td>Login:</td><td><input name="login" size=20></td></tr>
            <tr><td>Password:</td><td><input type=password name="pw"></td></tr>
            <tr><td colspan=2><input type=submit value="Log in"></td></tr>
            </table></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("login"));
        assert_eq!(l.password_field.as_deref(), Some("pw"));
        assert_eq!(l.form.fields[0].kind, "text");
        assert_eq!(l.form.buttons[0].label, "Log in");
        assert_eq!(l.form.buttons[0].value.as_deref(), Some("Log in"));
    }

    #[test]
    fn email_typed_username_with_labels_and_fieldset() {
        let html = r#"<div class="card"><div class="body">
            <form method="post" action="/session">
              <fieldset><legend>Account</legend>
                <label for="e">Email address</label>
                <div><input type="email" id="e" name="email" autocomplete="off"></div>
                <label>Password <input type="password" name="passwd"></label>
              </fieldset>
              <input type="submit" name="commit" value="Log in">
            </form></div></div>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("email"));
        assert_eq!(l.password_field.as_deref(), Some("passwd"));
        let email = l.form.field("email").unwrap();
        assert_eq!(email.kind, "email");
        assert_eq!(l.form.buttons[0].name.as_deref(), Some("commit"));
    }

    #[test]
    fn rails_style_bracketed_names() {
        let html = r#"<form class="new_user" action="/users/sign_in" accept-charset="UTF-8" method="post">
            <input type="hidden" name="authenticity_token" value="tok==">
            <div class="field"><label for="user_email">Email</label>
              <input autofocus="autofocus" autocomplete="email" type="email" value="" name="user[email]" id="user_email"></div>
            <div class="field"><label for="user_password">Password</label>
              <input autocomplete="current-password" type="password" name="user[password]" id="user_password"></div>
            <div class="field"><input name="user[remember_me]" type="hidden" value="0">
              <input type="checkbox" value="1" name="user[remember_me]" id="user_remember_me"></div>
            <div class="actions"><input type="submit" name="commit" value="Log in"></div>
            </form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("user[email]"));
        assert_eq!(l.password_field.as_deref(), Some("user[password]"));
        let pressed = l.form.buttons[0].clone();
        assert_eq!(
            l.form.submission(
                &[("user[email]", "a@example.com"), ("user[password]", "pw")],
                Some(&pressed)
            ),
            pairs(&[
                ("authenticity_token", "tok=="),
                ("user[email]", "a@example.com"),
                ("user[password]", "pw"),
                ("user[remember_me]", "0"),
                ("commit", "Log in"),
            ])
        );
    }

    #[test]
    fn java_j_username_in_nested_table_without_button_type() {
        let html = r#"<html><body><table><tr><td>
            <form name="loginForm" action="j_security_check" method="post">
              <table>
                <tr><th>User</th><td><input type="text" name="j_username"></td></tr>
                <tr><th>Password</th><td><input type="password" name="j_password"></td></tr>
              </table>
              <button>Login</button>
              <button type="button" onclick="help()">Help</button>
              <input type="reset" value="Clear">
            </form></td></tr></table></body></html>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("j_username"));
        assert_eq!(l.password_field.as_deref(), Some("j_password"));
        assert_eq!(
            l.form.buttons.len(),
            1,
            "type=button and reset are not submit buttons"
        );
        assert_eq!(l.form.buttons[0].label, "Login");
        assert_eq!(l.form.buttons[0].name, None);
        assert_eq!(names(&l.form), ["j_username", "j_password"]);
    }

    #[test]
    fn misnested_form_in_table_still_owns_its_controls() {
        // The parser leaves <form> empty inside the table; browsers still submit the inputs.
        let html = r#"<table><form action="/auth" method="post"><tr><td>
            <input name="user"></td></tr><tr><td><input type="password" name="pass">
            <input type="hidden" name="csrf" value="x1"></td></tr>
            <tr><td><input type="submit" value="Go"></td></tr></form></table>
            <input name="q" placeholder="unrelated, outside the table">"#;
        let l = login(html, &no_hints());
        assert_eq!(l.form.action.as_deref(), Some("/auth"));
        assert_eq!(l.username_field.as_deref(), Some("user"));
        assert_eq!(l.password_field.as_deref(), Some("pass"));
        assert_eq!(names(&l.form), ["user", "pass", "csrf"]);
    }

    #[test]
    fn form_attribute_associates_controls_outside_the_form() {
        let html = r#"<form id="lf" action="/do-login" method="post"></form>
            <div><input name="username" form="lf"><input type="password" name="password" form="lf">
            <button form="lf">Sign in</button>
            <input name="ghost" form="nope"></div>"#;
        let l = login(html, &no_hints());
        assert_eq!(names(&l.form), ["username", "password"]);
        assert_eq!(l.form.buttons[0].label, "Sign in");
        assert_eq!(l.username_field.as_deref(), Some("username"));
    }

    #[test]
    fn search_form_and_login_form() {
        let html = r#"<header><form action="/search" role="search">
              <input type="text" name="q" placeholder="Search"><button>Search</button></form></header>
            <main><form action="/login" method="post">
              <input type="text" name="user_id"><input type="password" name="secret">
              <button type="submit">Continue</button></form></main>"#;
        let forms = parse_forms(html);
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].method, "GET");
        let l = login(html, &no_hints());
        assert_eq!(l.form.action.as_deref(), Some("/login"));
        assert_eq!(l.username_field.as_deref(), Some("user_id"));
        assert_eq!(l.password_field.as_deref(), Some("secret"));
    }

    #[test]
    fn login_and_forgot_password_forms() {
        let html = r#"<form id="forgot" action="/password/forgot" method="post">
              <input type="email" name="email"><button>Send reset link</button></form>
            <form id="login" action="/login" method="post">
              <input type="email" name="email"><input type="password" name="password">
              <button>Sign in</button></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.form.action.as_deref(), Some("/login"));
        assert_eq!(l.username_field.as_deref(), Some("email"));
        assert_eq!(l.password_field.as_deref(), Some("password"));
    }

    #[test]
    fn registration_form_loses_to_login_form() {
        let html = r#"<form action="/register" method="post">
              <input name="email" type="email"><input type="password" name="pw1" autocomplete="new-password">
              <input type="password" name="pw2" autocomplete="new-password"><button>Create account</button></form>
            <form action="/signin" method="post">
              <input name="email" type="email"><input type="password" name="pw">
              <button>Sign in</button></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.form.action.as_deref(), Some("/signin"));
        assert_eq!(l.password_field.as_deref(), Some("pw"));
    }

    #[test]
    fn signup_form_loses_to_login_form() {
        let html = r#"<form action="/signup" method="post"><h2>Sign up</h2>
              <input name="email" type="email"><input type="password" name="new_pw">
              <button>Create account</button></form>
            <form action="/session" method="post">
              <input name="email" type="email"><input type="password" name="pw">
              <button>Log in</button></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.form.action.as_deref(), Some("/session"));
        assert_eq!(l.password_field.as_deref(), Some("pw"));
    }

    #[test]
    fn opaque_names_use_nearest_preceding_text_input() {
        let html = r#"<form method="post"><input name="f0" type="text" value="">
            <input name="f1"><input name="f2" type="password"><input name="f3" type="text">
            <input type="submit"></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("f1"));
        assert_eq!(l.password_field.as_deref(), Some("f2"));
        assert_eq!(l.form.buttons[0].label, "Submit");
        assert_eq!(l.form.action, None);
    }

    #[test]
    fn forgerock_idtoken_names() {
        let html = r#"<form name="Login" method="post" action="/openam/UI/Login">
            <input type="text" name="IDToken1" value=""><input type="password" name="IDToken2">
            <input type="hidden" name="goto" value=""><input type="submit" name="Login.Submit" value="Log In">
            </form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("IDToken1"));
        assert_eq!(l.password_field.as_deref(), Some("IDToken2"));
    }

    #[test]
    fn captcha_between_username_and_password_is_skipped() {
        let html = r#"<form method="post"><input name="account" type="text">
            <input name="captcha_answer" type="text"><input name="pwd" type="password">
            <button>Log in</button></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("account"));
        assert_eq!(l.password_field.as_deref(), Some("pwd"));
    }

    #[test]
    fn password_only_step_has_no_username() {
        let html = r#"<form method="post" action="/password">
            <input type="hidden" name="username" value="alice">
            <input type="password" name="password"><button>Next</button></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field, None);
        assert_eq!(l.password_field.as_deref(), Some("password"));
    }

    #[test]
    fn username_first_identifier_step() {
        let html = r#"<main><form method="POST" action="/u/login/identifier?state=xyz">
            <input type="hidden" name="state" value="xyz">
            <div class="input-wrapper"><label for="identifier">Email address</label>
              <input id="identifier" name="identifier" type="text" autocomplete="username"></div>
            <input type="text" name="website" style="display: none">
            <button type="submit" name="action" value="default">Continue</button>
            </form></main>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("identifier"));
        assert_eq!(l.password_field, None);
        assert_eq!(
            l.form.action.as_deref(),
            Some("/u/login/identifier?state=xyz")
        );
        let pressed = l.form.buttons[0].clone();
        assert_eq!(
            l.form
                .submission(&[("identifier", "alice")], Some(&pressed)),
            pairs(&[
                ("state", "xyz"),
                ("identifier", "alice"),
                ("website", ""),
                ("action", "default"),
            ])
        );
    }

    #[test]
    fn username_first_by_label_only() {
        let html = r#"<form method="post" action="/next"><label for="x7">E-mail or phone</label>
            <input id="x7" name="f_x7"><input type="submit" value="Next"></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("f_x7"));
        assert_eq!(l.password_field, None);
    }

    #[test]
    fn search_only_page_is_other() {
        let html = r#"<form action="/find"><input type="text" name="q" aria-label="user search">
            <button>Search</button></form>"#;
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
    }

    #[test]
    fn forgot_password_only_page_is_other() {
        let html = r#"<h1>Forgot your password?</h1><form action="/password/forgot" method="post">
            <input type="email" name="email"><button>Send reset link</button></form>"#;
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
    }

    #[test]
    fn one_time_code_step_is_not_a_username_step() {
        let html = r#"<form method="post"><label for="c">Enter the code we sent to your email</label>
            <input id="c" name="otp" autocomplete="one-time-code"><button>Verify</button></form>"#;
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
    }

    #[test]
    fn consent_with_decision_buttons() {
        let html = r#"<h2>Example App wants to access your account</h2>
            <form method="post" action="/oauth/authorize">
              <input type="hidden" name="csrf" value="k9">
              <input type="hidden" name="client_id" value="app">
              <label><input type="checkbox" name="scope" value="openid" checked> openid</label>
              <label><input type="checkbox" name="scope" value="email"> email</label>
              <button type="submit" name="decision" value="deny">Deny</button>
              <button type="submit" name="decision" value="approve">Allow</button>
            </form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.approve.value.as_deref(), Some("approve"));
        assert_eq!(c.approve.label, "Allow");
        assert_eq!(
            c.form.submission(&[], Some(&c.approve)),
            pairs(&[
                ("csrf", "k9"),
                ("client_id", "app"),
                ("scope", "openid"),
                ("decision", "approve"),
            ])
        );
    }

    #[test]
    fn consent_in_two_separate_forms() {
        let html = r#"<form id="denyForm" method="post" action="/oauth/authorize">
              <input name="user_oauth_approval" value="false" type="hidden">
              <input name="deny" value="Deny" type="submit"></form>
            <form id="confirmationForm" method="post" action="/oauth/authorize">
              <input name="user_oauth_approval" value="true" type="hidden">
              <input name="authorize" value="Authorize" type="submit"></form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.approve.name.as_deref(), Some("authorize"));
        assert_eq!(
            c.form.submission(&[], Some(&c.approve)),
            pairs(&[("user_oauth_approval", "true"), ("authorize", "Authorize")])
        );
    }

    #[test]
    fn consent_ticks_the_requested_scopes_and_the_agreement_only() {
        // Spring Authorization Server's default consent page: one unticked checkbox per scope.
        let html = r#"<form name="consent_form" method="post" action="/oauth2/authorize">
            <input type="hidden" name="client_id" value="c1">
            <input type="hidden" name="state" value="consent-state">
            <input class="form-check-input" type="checkbox" name="scope" value="profile" id="profile">
            <label for="profile">profile</label>
            <input class="form-check-input" type="checkbox" name="scope" value="admin" id="admin">
            <label for="admin">admin</label>
            <label><input type="checkbox" name="agree"> I agree to the terms</label>
            <label><input type="checkbox" name="remember"> Remember my decision</label>
            <button type="submit" id="submit-consent">Submit Consent</button>
            <button type="button" id="cancel-consent" onclick="cancelConsent();">Cancel</button>
            </form>"#;
        let c = consent_of(html, &no_hints());
        let ticked = c.form.ticked_for_consent(&["openid", "profile"]);
        assert_eq!(
            ticked.submission(&[], Some(&c.approve)),
            pairs(&[
                ("client_id", "c1"),
                ("state", "consent-state"),
                ("scope", "profile"),
                ("agree", "on"),
            ])
        );
    }

    #[test]
    fn deny_is_found_in_another_form() {
        // Doorkeeper: Authorize and Deny are two button_to forms; Deny tunnels DELETE.
        let html = r#"<div class="actions">
            <form class="button_to" method="post" action="/oauth/authorize">
              <input type="submit" value="Authorize" class="btn btn-success btn-lg btn-block">
              <input type="hidden" name="authenticity_token" value="t1">
              <input type="hidden" name="state" value="s1"></form>
            <form class="button_to" method="post" action="/oauth/authorize">
              <input type="hidden" name="_method" value="delete">
              <input type="submit" value="Deny" class="btn btn-danger btn-lg btn-block">
              <input type="hidden" name="authenticity_token" value="t1">
              <input type="hidden" name="state" value="s1"></form></div>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.approve.label, "Authorize");
        let (form, button) = c.deny.expect("a deny button");
        assert_eq!(button.label, "Deny");
        assert_eq!(
            form.field("_method").map(|f| f.value.as_str()),
            Some("delete")
        );
    }

    #[test]
    fn hydra_style_deny_access_is_a_refusal() {
        let html = r#"<form action="/consent" method="POST">
            <input type="hidden" name="challenge" value="ch">
            <input type="checkbox" class="grant_scope" id="openid" value="openid" name="grant_scope" checked>
            <input type="submit" id="accept" name="submit" value="Allow access">
            <input type="submit" id="reject" name="submit" value="Deny access"></form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.approve.value.as_deref(), Some("Allow access"));
        assert_eq!(
            c.deny.expect("deny").1.value.as_deref(),
            Some("Deny access")
        );
    }

    #[test]
    fn button_formaction_and_formmethod_override_the_form() {
        let html = r#"<base href="/realm/">
            <form method="get" action="ignored"><input type="hidden" name="k" value="v">
            <button formaction="login-actions/authenticate?x=1" formmethod="post">Sign in</button></form>"#;
        let forms = parse_forms(html);
        let page = Url::parse("http://h/realm/auth?q=1").unwrap();
        let (method, url) = forms[0].target(&page, forms[0].buttons.first()).unwrap();
        assert_eq!(method, "POST");
        assert_eq!(
            url.as_str(),
            "http://h/realm/login-actions/authenticate?x=1"
        );
        let (method, url) = forms[0].target(&page, None).unwrap();
        assert_eq!(
            (method.as_str(), url.as_str()),
            ("GET", "http://h/realm/ignored")
        );
        // No action: the document's own URL, query included.
        let own = parse_forms("<form method=post><input name=a></form>");
        assert_eq!(
            own[0].target(&page, None).unwrap().1.as_str(),
            "http://h/realm/auth?q=1"
        );
    }

    #[test]
    fn interstitials_a_browser_passes() {
        let refresh = r#"<html><head><meta http-equiv="Refresh" content="0; URL='/next?a=1'"></head>
            <body>Redirecting…</body></html>"#;
        assert_eq!(
            classify(refresh, &no_hints()),
            PageKind::Interstitial(Interstitial::Refresh("/next?a=1".into()))
        );
        // SimpleSAMLphp's post.twig: a hidden-field form that the page submits on load.
        let autopost = r#"<body onload="document.getElementsByTagName('input')[0].click();">
            <noscript><p><strong>Note:</strong> JavaScript is off.</p></noscript>
            <form method="post" action="https://sp.example/acs">
              <input type="submit" style="display:none;">
              <input type="hidden" name="SAMLResponse" value="PHNhbWw+">
              <input type="hidden" name="RelayState" value="rs"></form></body>"#;
        match classify(autopost, &no_hints()) {
            PageKind::Interstitial(Interstitial::AutoSubmit(form)) => {
                assert_eq!(names(&form), ["SAMLResponse", "RelayState"])
            }
            other => panic!("expected an auto-submitted form, got {other:?}"),
        }
        let link =
            r#"<h1>You are signed in</h1><p><a href="/authorize/resume?id=7">Continue</a></p>"#;
        assert_eq!(
            classify(link, &no_hints()),
            PageKind::Interstitial(Interstitial::Link("/authorize/resume?id=7".into()))
        );
        // A page of many links is a menu, not an interstitial.
        let menu = r#"<a href="/a">Continue</a><a href="/b">Help</a><a href="/c">Privacy</a><a href="/d">Terms</a>"#;
        assert_eq!(classify(menu, &no_hints()), PageKind::Other);
    }

    #[test]
    fn read_page_reports_the_message_and_the_forms_without_values() {
        let html = r#"<title>Sign in to demo</title>
            <div class="alert alert-error"><span id="input-error">Invalid username or password.</span></div>
            <form id="kc-form-login" action="/login-actions/authenticate?session_code=SECRET" method="post">
              <input name="username" value="alice"><input type="password" name="password">
              <input type="hidden" name="credentialId" value="cred-9">
              <input type="submit" name="login" value="Sign In"></form>"#;
        let page = read_page(html, &no_hints());
        assert_eq!(page.title.as_deref(), Some("Sign in to demo"));
        assert_eq!(
            page.message.as_deref(),
            Some("Invalid username or password.")
        );
        let forms = page.describe_forms();
        assert!(
            forms.contains("username:text, password:password, credentialId:hidden"),
            "{forms}"
        );
        assert!(forms.contains("\"Sign In\""), "{forms}");
        assert!(
            !forms.contains("cred-9") && !forms.contains("alice"),
            "{forms}"
        );
    }

    #[test]
    fn consent_keycloak_yes_no_inputs() {
        let html = r#"<form class="form-actions" action="/realms/r/login-actions/consent?code=1" method="POST">
            <input type="hidden" name="code" value="c0de">
            <input class="btn" name="accept" id="kc-login" type="submit" value="Yes">
            <input class="btn" name="cancel" id="kc-cancel" type="submit" value="No"></form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.approve.name.as_deref(), Some("accept"));
        assert_eq!(c.approve.id.as_deref(), Some("kc-login"));
    }

    #[test]
    fn consent_never_picks_disallow_or_dont_allow() {
        let html = r#"<form method="post">
            <button name="a" value="1">Disallow</button>
            <button name="b" value="2">Don't allow</button>
            <button name="c" value="3">Do not authorize</button>
            <button name="d" value="4"><span>Allow</span> <svg><title>icon</title></svg></button>
            </form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.approve.name.as_deref(), Some("d"));
        assert_eq!(c.approve.label, "Allow icon");
    }

    #[test]
    fn consent_label_beats_misleading_name() {
        let html = r#"<form method="post">
            <button name="approve" value="false">Cancel</button>
            <button name="allow_or_deny" value="true">Grant access</button></form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.approve.name.as_deref(), Some("allow_or_deny"));
        assert_eq!(c.approve.value.as_deref(), Some("true"));
    }

    #[test]
    fn strong_approval_beats_continue() {
        let html = r#"<form method="post" action="/a"><button>Continue reading</button></form>
            <form method="post" action="/b"><button>Accept</button></form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.form.action.as_deref(), Some("/b"));
    }

    #[test]
    fn social_login_button_is_a_weak_approval() {
        let html = r#"<form method="post" action="/social/google"><button>Continue with Google</button></form>
            <form method="post" action="/consent"><button>Confirm</button></form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.form.action.as_deref(), Some("/consent"));
        assert_eq!(c.approve.label, "Confirm");
    }

    #[test]
    fn form_asking_for_typed_input_is_a_poorer_consent_match() {
        let html = r#"<form method="post" action="/device"><label>Code <input name="user_code"></label>
              <button>Continue</button></form>
            <form method="post" action="/device/confirm"><input type="hidden" name="c" value="1">
              <button>Continue</button></form>"#;
        let c = consent_of(html, &no_hints());
        assert_eq!(c.form.action.as_deref(), Some("/device/confirm"));
    }

    #[test]
    fn logout_confirmation_is_not_consent() {
        let html = r#"<h1>Do you want to log out?</h1><form method="post" action="/logout">
            <input type="hidden" name="session_code" value="s1">
            <input name="confirmLogout" id="kc-logout" type="submit" value="Yes"></form>"#;
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
    }

    #[test]
    fn approve_hint_takes_precedence() {
        let html = r#"<form method="post" action="/consent">
            <button name="choice" value="allow">Allow</button>
            <button name="choice" value="ok" id="go-btn">Looks good</button></form>"#;
        let by_label = LoginHints {
            approve_button: Some("  looks GOOD ".into()),
            ..LoginHints::default()
        };
        assert_eq!(
            consent_of(html, &by_label).approve.value.as_deref(),
            Some("ok")
        );
        let by_id = LoginHints {
            approve_button: Some("go-btn".into()),
            ..LoginHints::default()
        };
        assert_eq!(consent_of(html, &by_id).approve.label, "Looks good");
        let missing = LoginHints {
            approve_button: Some("nothing like it".into()),
            ..LoginHints::default()
        };
        assert_eq!(
            consent_of(html, &missing).approve.value.as_deref(),
            Some("allow")
        );
    }

    #[test]
    fn approve_hint_makes_an_unrecognised_page_a_consent_page() {
        let html = r#"<form method="post"><button name="x">Open</button></form>"#;
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
        let hints = LoginHints {
            approve_button: Some("open".into()),
            ..LoginHints::default()
        };
        assert_eq!(consent_of(html, &hints).approve.name.as_deref(), Some("x"));
    }

    #[test]
    fn field_hints_override_detection() {
        let html = r#"<form method="post" action="/x">
            <input name="username"><input name="realname"><input type="password" name="password">
            <input type="password" name="pin_secret"><button>Go</button></form>"#;
        let hints = LoginHints {
            username_field: Some("realname".into()),
            password_field: Some("pin_secret".into()),
            ..LoginHints::default()
        };
        let l = login(html, &hints);
        assert_eq!(l.username_field.as_deref(), Some("realname"));
        assert_eq!(l.password_field.as_deref(), Some("pin_secret"));
        let detected = login(html, &no_hints());
        assert_eq!(detected.username_field.as_deref(), Some("username"));
        assert_eq!(detected.password_field.as_deref(), Some("password"));
    }

    #[test]
    fn password_hint_on_a_text_input() {
        let html = r#"<form method="post" action="/pin"><input name="user">
            <input type="text" name="code_word"><button>Go</button></form>"#;
        let hints = LoginHints {
            password_field: Some("code_word".into()),
            ..LoginHints::default()
        };
        let l = login(html, &hints);
        assert_eq!(l.password_field.as_deref(), Some("code_word"));
        assert_eq!(l.username_field.as_deref(), Some("user"));
    }

    #[test]
    fn form_selector_hint_picks_the_form() {
        let html = r#"<form id="customer" action="/customer" method="post">
              <input name="email" type="email"><input type="password" name="password"><button>Sign in</button></form>
            <div class="staff"><form action="/staff" method="post">
              <input name="staff_no"><input type="password" name="staff_pw"><button>Sign in</button></form></div>"#;
        assert_eq!(
            login(html, &no_hints()).form.action.as_deref(),
            Some("/customer")
        );
        let direct = LoginHints {
            form_selector: Some("form[action='/staff']".into()),
            ..LoginHints::default()
        };
        let l = login(html, &direct);
        assert_eq!(l.form.action.as_deref(), Some("/staff"));
        assert_eq!(l.username_field.as_deref(), Some("staff_no"));
        assert_eq!(l.password_field.as_deref(), Some("staff_pw"));
        let container = LoginHints {
            form_selector: Some("div.staff".into()),
            ..LoginHints::default()
        };
        assert_eq!(
            login(html, &container).form.action.as_deref(),
            Some("/staff")
        );
        let inner = LoginHints {
            form_selector: Some("input[name=staff_no]".into()),
            ..LoginHints::default()
        };
        assert_eq!(login(html, &inner).form.action.as_deref(), Some("/staff"));
    }

    #[test]
    fn bad_or_unmatched_form_selector_falls_back() {
        let html = r#"<form action="/login" method="post"><input name="login">
            <input type="password" name="password"><button>Go</button></form>"#;
        for selector in ["form[[[", "#does-not-exist", ""] {
            let hints = LoginHints {
                form_selector: Some(selector.into()),
                ..LoginHints::default()
            };
            let l = login(html, &hints);
            assert_eq!(
                l.form.action.as_deref(),
                Some("/login"),
                "selector {selector:?}"
            );
            assert_eq!(l.username_field.as_deref(), Some("login"));
        }
        // A selector matching the consent form of a consent page does not turn it into a login.
        let consent_page = r#"<form class="f" method="post"><input type="hidden" name="t" value="1">
            <button value="yes">Authorize</button></form>"#;
        let hints = LoginHints {
            form_selector: Some("form.f".into()),
            ..LoginHints::default()
        };
        assert_eq!(consent_of(consent_page, &hints).approve.label, "Authorize");
    }

    #[test]
    fn username_hint_turns_a_plain_form_into_a_username_step() {
        let html =
            r#"<form method="post" action="/id"><input name="q"><button>Next</button></form>"#;
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
        let hints = LoginHints {
            username_field: Some("q".into()),
            ..LoginHints::default()
        };
        let l = login(html, &hints);
        assert_eq!(l.username_field.as_deref(), Some("q"));
        assert_eq!(l.password_field, None);
    }

    #[test]
    fn page_without_forms_is_other() {
        let html = "<html><head><title>Welcome</title></head><body><p>Hello <a href=/x>Home</a></p></body></html>";
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
        assert!(parse_forms(html).is_empty());
        assert_eq!(classify("", &no_hints()), PageKind::Other);
        assert!(parse_forms("").is_empty());
    }

    #[test]
    fn orphan_password_input_is_not_consent() {
        let html = r#"<div id="app"><input type="password" name="p"></div>
            <form method="post"><button>Continue</button></form>"#;
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
    }

    #[test]
    fn broken_unclosed_html() {
        let html = "<html><body><div><form action=/login method=post><p><input name=user\
                    <input type=password name=pass><input type=submit value='Log in";
        // The unclosed tag swallows the next one as attributes; what remains still parses.
        let forms = parse_forms(html);
        assert_eq!(forms.len(), 1);
        let html = "<form action='/login' method=post><table><tr><td><input name=username>\
                    <td><input type=password name=password></tr><div><b><i><button>Sign in</i>";
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("username"));
        assert_eq!(l.password_field.as_deref(), Some("password"));
        assert_eq!(l.form.buttons[0].label, "Sign in");
        let html = "<<form>></form <input type=password name=x> </div></div></body><form method=post><input type=password name=y>";
        let l = login(html, &no_hints());
        assert_eq!(l.password_field.as_deref(), Some("y"));
    }

    #[test]
    fn nested_form_tags_are_ignored_like_browsers_do() {
        let html = r#"<form action="/outer" method="post"><input name="a">
            <form action="/inner"><input name="username"><input type="password" name="password">
            </form><input name="after"></form>"#;
        let forms = parse_forms(html);
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].action.as_deref(), Some("/outer"));
        assert_eq!(names(&forms[0]), ["a", "username", "password"]);
    }

    #[test]
    fn template_contents_are_ignored() {
        let html = r#"<template><form method="post"><input name="u"><input type="password" name="p"></form></template>
            <p>nothing here</p>"#;
        assert!(parse_forms(html).is_empty());
        assert_eq!(classify(html, &no_hints()), PageKind::Other);
    }

    #[test]
    fn submission_of_checkboxes_radios_selects_textareas_and_disabled() {
        let html = r#"<form method="post">
            <input type="checkbox" name="remember">
            <input type="checkbox" name="terms" checked>
            <input type="radio" name="mode" value="a">
            <input type="radio" name="mode" value="b" checked>
            <select name="lang"><option value="en">English</option><option value="fr" selected>French</option></select>
            <select name="region"><option disabled>pick</option><option> eu   west </option></select>
            <select name="many" multiple><option>x</option></select>
            <select name="empty"></select>
            <textarea name="note">hello
world</textarea>
            <input name="off" value="1" disabled>
            <fieldset disabled><legend><input name="in_legend" value="L"></legend><input name="in_set" value="S"></fieldset>
            <input type="file" name="upload">
            <input name="" value="nameless">
            <input type="submit" name="go" value="Go">
            <input type="image" name="img" alt="Send" src="x.png">
            </form>"#;
        let form = &parse_forms(html)[0];
        assert_eq!(form.field("terms").unwrap().value, "on");
        assert!(form.field("in_set").unwrap().disabled);
        assert!(!form.field("in_legend").unwrap().disabled);
        assert_eq!(form.buttons.len(), 2);
        assert_eq!(form.buttons[1].label, "Send");
        assert_eq!(
            form.submission(&[], None),
            pairs(&[
                ("terms", "on"),
                ("mode", "b"),
                ("lang", "fr"),
                ("region", "eu west"),
                ("note", "hello\nworld"),
                ("in_legend", "L"),
                ("upload", ""),
            ])
        );
        let pressed = form.buttons[0].clone();
        assert_eq!(
            form.submission(
                &[
                    ("mode", "a"),
                    ("remember", "on"),
                    ("lang", "de"),
                    ("lang", "it")
                ],
                Some(&pressed)
            ),
            pairs(&[
                ("terms", "on"),
                ("mode", "a"),
                ("lang", "de"),
                ("lang", "it"),
                ("region", "eu west"),
                ("note", "hello\nworld"),
                ("in_legend", "L"),
                ("upload", ""),
                ("remember", "on"),
                ("go", "Go"),
            ])
        );
    }

    #[test]
    fn fills_replace_duplicates_and_pressed_button_without_name_adds_nothing() {
        let html = r#"<form><input type="hidden" name="t" value="1"><input name="t" value="2">
            <button>Send</button></form>"#;
        let form = &parse_forms(html)[0];
        let button = form.buttons[0].clone();
        assert_eq!(button.name, None);
        assert_eq!(
            form.submission(&[("t", "9")], Some(&button)),
            pairs(&[("t", "9")])
        );
    }

    #[test]
    fn method_and_input_type_normalisation() {
        let html = r#"<form method=" PoSt "><input name=a type="EMAIL"><input name=b type=bogus></form>
            <form method="dialog"></form><form></form>"#;
        let forms = parse_forms(html);
        assert_eq!(forms.len(), 3);
        assert_eq!(forms[0].method, "POST");
        assert_eq!(forms[1].method, "GET");
        assert_eq!(forms[2].method, "GET");
        assert_eq!(forms[0].fields[0].kind, "email");
        assert_eq!(forms[0].fields[1].kind, "text");
    }

    #[test]
    fn action_url_resolution() {
        let page = Url::parse("https://id.example.com/auth/realms/demo/login?x=1#frag").unwrap();
        let with = |action: Option<&str>| HtmlForm {
            action: action.map(str::to_string),
            ..HtmlForm::default()
        };
        assert_eq!(
            with(None).action_url(&page).unwrap().as_str(),
            "https://id.example.com/auth/realms/demo/login?x=1"
        );
        assert_eq!(
            with(Some("  ")).action_url(&page).unwrap().as_str(),
            "https://id.example.com/auth/realms/demo/login?x=1"
        );
        assert_eq!(
            with(Some("authenticate?execution=9"))
                .action_url(&page)
                .unwrap()
                .as_str(),
            "https://id.example.com/auth/realms/demo/authenticate?execution=9"
        );
        assert_eq!(
            with(Some("/session")).action_url(&page).unwrap().as_str(),
            "https://id.example.com/session"
        );
        assert_eq!(
            with(Some("../other")).action_url(&page).unwrap().as_str(),
            "https://id.example.com/auth/realms/other"
        );
        assert_eq!(
            with(Some("?step=2")).action_url(&page).unwrap().as_str(),
            "https://id.example.com/auth/realms/demo/login?step=2"
        );
        assert_eq!(
            with(Some(" https://login.other.test/cb "))
                .action_url(&page)
                .unwrap()
                .as_str(),
            "https://login.other.test/cb"
        );
        assert_eq!(
            with(Some("//cdn.example.net/x"))
                .action_url(&page)
                .unwrap()
                .as_str(),
            "https://cdn.example.net/x"
        );
        assert!(with(Some("http://[::1")).action_url(&page).is_err());
    }

    #[test]
    fn action_url_from_parsed_forms() {
        let page = Url::parse("https://as.test/oauth/authorize?client_id=c").unwrap();
        let html = r#"<form action="consent" method="post"></form><form method="post"></form>"#;
        let forms = parse_forms(html);
        assert_eq!(
            forms[0].action_url(&page).unwrap().as_str(),
            "https://as.test/oauth/consent"
        );
        assert_eq!(forms[1].action, None);
        assert_eq!(
            forms[1].action_url(&page).unwrap().as_str(),
            "https://as.test/oauth/authorize?client_id=c"
        );
    }

    #[test]
    fn page_title_variants() {
        assert_eq!(
            page_title("<html><head><title>\n  Sign in to   Demo \n</title></head></html>")
                .as_deref(),
            Some("Sign in to Demo")
        );
        assert_eq!(
            page_title(
                "<body><svg><title>logo</title></svg><h1> Authorize <b>App</b></h1><h1>Second</h1>"
            )
            .as_deref(),
            Some("Authorize App")
        );
        assert_eq!(
            page_title("<title>   </title><h1>Fallback</h1>").as_deref(),
            Some("Fallback")
        );
        assert_eq!(page_title("<p>nothing</p>"), None);
        assert_eq!(page_title(""), None);
    }

    #[test]
    fn hidden_honeypot_does_not_count_as_second_text_box() {
        let html = r#"<form method="post" action="/login/start">
            <div hidden><input name="company"></div>
            <input type="email" name="mail"><button type="submit">Next</button></form>"#;
        let l = login(html, &no_hints());
        assert_eq!(l.username_field.as_deref(), Some("mail"));
        assert_eq!(l.password_field, None);
    }

    #[test]
    fn deeply_nested_and_garbage_input_never_panics() {
        let nested = |depth: usize| {
            format!(
                "{}<form method=post><input name=user><input type=password name=pw></form>",
                "<div>".repeat(depth)
            )
        };
        let l = login(&nested(200), &no_hints());
        assert_eq!(l.password_field.as_deref(), Some("pw"));
        // Past the parsing bound the page is read up to the cut, and says so.
        let page = read_page(&nested(2_000), &no_hints());
        assert_eq!(page.kind, PageKind::Other);
        assert_eq!(page.cut, Some(crate::flow::html::Cut::Depth));
        assert!(
            page.describe_forms().contains("deeper than 256"),
            "{}",
            page.describe_forms()
        );

        let pieces = [
            "<form",
            ">",
            "</form>",
            "<input type=password name=p>",
            "<input name=u>",
            "<button>Allow</button>",
            "<table>",
            "<tr>",
            "<td>",
            "\"",
            "'",
            "<!--",
            "-->",
            "<select name=s>",
            "<option>",
            "<textarea name=t>",
            "<template>",
            "\u{0}",
            "é",
            "<svg>",
            "<title>",
            "&amp;",
            "&#0;",
            "<script>",
            "</",
            "<fieldset disabled>",
            "<legend>",
            "<label for=x>",
            " form=f",
            " id=f",
            "<base href=x>",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..300 {
            let mut doc = String::new();
            for _ in 0..40 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                doc.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            let hints = LoginHints {
                form_selector: Some("form > input".into()),
                approve_button: Some("allow".into()),
                ..LoginHints::default()
            };
            let kind = classify(&doc, &hints);
            let forms = parse_forms(&doc);
            for form in &forms {
                assert!(form.method == "GET" || form.method == "POST");
                assert!(form.fields.iter().all(|f| !f.name.is_empty()));
            }
            match kind {
                PageKind::Login(l) => assert!(forms.contains(&l.form)),
                PageKind::Consent(c) => assert!(c.form.buttons.contains(&c.approve)),
                PageKind::Interstitial(_) | PageKind::Other => {}
            }
            let _ = page_title(&doc);
        }
    }
}
