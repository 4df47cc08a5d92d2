"""Shows, deterministically, the auth_time flaw reports/django-oauth-toolkit.md describes.

    .venv/bin/python auth_time_repro.py TARGET_FILE      (the file server.py --write-config wrote)

Session A signs in and gets a code and tokens; session B (another browser) signs the same user
in; session A's refresh token is then used. DOT takes auth_time from user.last_login, so the
refreshed ID token carries session B's sign-in time, not session A's (OpenID Connect Core
§12.2: "its value MUST represent the time of the original authentication"). Loopback only;
uses `requests` from the virtualenv (a dependency of django-oauth-toolkit).
"""

import base64
import hashlib
import json
import re
import secrets
import sys
import time
import tomllib
from urllib.parse import parse_qs, urlparse

import requests


def claims(jwt):
    body = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def sign_in(base, issuer, client, login):
    """A new browser: the authorization request, Django's login form, DOT's consent form."""
    s = requests.Session()
    s.trust_env = False
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": client["id"],
        "redirect_uri": client["redirect_uri"],
        "scope": client["scope"],
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = s.get(f"{issuer}/authorize/", params=params)  # follows to /accounts/login/?next=...
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    nxt = re.search(r'name="next" value="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    consent = s.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf, "username": login["username"], "password": login["password"], "next": nxt},
    )
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    form["allow"] = "Authorize"
    done = s.post(consent.url, data=form, allow_redirects=False)
    code = parse_qs(urlparse(done.headers["Location"]).query)["code"][0]
    tokens = s.post(
        f"{issuer}/token/",
        auth=(client["id"], client["secret"]),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": client["redirect_uri"], "code_verifier": verifier},
    ).json()
    return tokens


def main():
    target = tomllib.load(open(sys.argv[1], "rb"))
    issuer = target["issuer"]
    base = issuer.rsplit("/o", 1)[0]
    client, login = target["client"], target["login"]

    a = sign_in(base, issuer, client, login)
    a_time = claims(a["id_token"])["auth_time"]
    print(f"session A signed in: its ID token has auth_time {a_time}")
    time.sleep(2)  # so that the two sign-ins fall in different seconds
    b = sign_in(base, issuer, client, login)
    print(f"session B signed in: its ID token has auth_time {claims(b['id_token'])['auth_time']}")
    refreshed = requests.post(
        f"{issuer}/token/",
        auth=(client["id"], client["secret"]),
        data={"grant_type": "refresh_token", "refresh_token": a["refresh_token"]},
    ).json()
    r_time = claims(refreshed["id_token"])["auth_time"]
    print(f"session A's refresh token: the new ID token has auth_time {r_time}")
    if r_time != a_time:
        print("auth_time changed: it is the user's latest sign-in, not session A's authentication")
        sys.exit(1)
    print("auth_time kept")


if __name__ == "__main__":
    main()
