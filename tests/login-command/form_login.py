#!/usr/bin/env python3
"""A login program for `[login] mode = "command"`, written the way a user would write one.

It signs in through plain HTML login and consent forms with Python's standard library, and
follows the server (never the redirect_uri) until the browser would leave it. Protocol:
  - in:  OAUTHPROBE_AUTHORIZE_URL, OAUTHPROBE_REDIRECT_URI, OAUTHPROBE_USERNAME,
         OAUTHPROBE_PASSWORD, OAUTHPROBE_CONSENT (approve or deny);
  - out: exit 0 and the URL the server redirected to; exit 3 and "URL TITLE" when the server
         stopped on a page of its own; exit 1 when the login failed.
Used by the integration tests, and also by a person (the manual-mode test feeds its output
to oauthprobe's standard input, as a person would paste a URL).
"""

import html.parser
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Forms(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.title, self._in_title = [], "", False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": (a.get("method") or "get").upper(),
                               "inputs": [], "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append((a.get("name"), a.get("type", "text"), a.get("value", "")))
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append((a.get("name"), a.get("value", ""), a.get("id", "")))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def leaves(url, server_origin, redirect_uri):
    u = urllib.parse.urlsplit(url)
    if (u.scheme, u.netloc) != server_origin:
        return True
    base = urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, "", ""))
    r = urllib.parse.urlsplit(redirect_uri)
    return base.startswith(urllib.parse.urlunsplit((r.scheme, r.netloc, r.path, "", "")))


def main():
    url = os.environ["OAUTHPROBE_AUTHORIZE_URL"]
    redirect_uri = os.environ.get("OAUTHPROBE_REDIRECT_URI") or dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("redirect_uri", "")
    consent = os.environ.get("OAUTHPROBE_CONSENT", "approve")
    first = urllib.parse.urlsplit(url)
    origin = (first.scheme, first.netloc)
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(CookieJar()))
    data, sent_password = None, False
    for _ in range(16):
        try:
            resp = opener.open(urllib.request.Request(url, data=data), timeout=30)
        except urllib.error.HTTPError as e:
            resp = e
        status = resp.status if hasattr(resp, "status") else resp.code
        if 300 <= status < 400:
            url = urllib.parse.urljoin(url, resp.headers["Location"])
            if leaves(url, origin, redirect_uri):
                print(url)
                return 0
            data = None
            continue
        page = Forms()
        page.feed(resp.read().decode("utf-8", "replace"))
        login = next((f for f in page.forms if any(t == "password" for _, t, _ in f["inputs"])), None)
        consent_form = next((f for f in page.forms if len(f["buttons"]) >= 2), None)
        if login:
            if sent_password:
                print("wrong username or password", file=sys.stderr)
                return 1
            fields = {n: v for n, t, v in login["inputs"] if n}
            for n, t, _ in login["inputs"]:
                if t == "password":
                    fields[n] = os.environ["OAUTHPROBE_PASSWORD"]
                elif t in ("text", "email") and n:
                    fields[n] = os.environ["OAUTHPROBE_USERNAME"]
            sent_password = True
            form = login
        elif consent_form:
            fields = {n: v for n, t, v in consent_form["inputs"] if n}
            button = next((b for b in consent_form["buttons"] if consent in (b[1], b[2])), None)
            if button is None:
                print(f"no {consent} button on the consent page", file=sys.stderr)
                return 1
            fields[button[0]] = button[1]
            form = consent_form
        else:
            print(f"{url} {page.title.strip()}")
            return 3
        url = urllib.parse.urljoin(url, form["action"] or url)
        data = urllib.parse.urlencode(fields).encode()
    print("too many steps", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
