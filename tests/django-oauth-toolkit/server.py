"""django-oauth-toolkit (versions pinned in requirements.txt) as a reference authorization server
for oauthprobe. Serves on 127.0.0.1 only.

    .venv/bin/python server.py [PORT] [--write-config FILE] [--exit-with-stdin]

PORT (or env PORT; 0 or none = a free port). Each start gets a fresh temporary directory with a
new SQLite database, a new SECRET_KEY and a new RSA key for ID tokens; it runs the migrations,
creates the test user and three applications, and serves the Django project in dotserver/ with
Django's own threaded development server (the machinery of `manage.py runserver`, without the
auto-reloader). Once listening it prints exactly one line to stdout:

    django-oauth-toolkit listening on http://127.0.0.1:PORT

--write-config FILE (or env DOT_WRITE_CONFIG) writes the matching oauthprobe target file before
that line is printed. --exit-with-stdin ends the server when its stdin closes (so a test that
dies cannot leave it behind). It also stops on SIGINT and SIGTERM, and removes its directory.

Secrets and the test user come from the environment, with defaults:
    DOT_BASIC_SECRET, DOT_POST_SECRET, DOT_USERNAME, DOT_PASSWORD
The request log (one line per request) goes to stderr.
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent

CLIENTS = {
    "basic": {"id": "oauthprobe-basic", "type": "confidential", "method": "client_secret_basic"},
    "post": {"id": "oauthprobe-post", "type": "confidential", "method": "client_secret_post"},
    "public": {"id": "oauthprobe-public", "type": "public", "method": "none"},
}
# openid plus DOT's two default scopes (docs/oidc.rst: "allow the openid scope to be used").
SCOPE = "openid read write"


def usage(why):
    sys.stderr.write(
        f"server.py: {why}\n"
        "usage: python server.py [PORT] [--write-config FILE] [--exit-with-stdin]\n"
    )
    sys.exit(2)


def parse_args(argv):
    port = os.environ.get("PORT", "0")
    write_config = os.environ.get("DOT_WRITE_CONFIG") or None
    exit_with_stdin = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--write-config":
            i += 1
            if i >= len(argv):
                usage("--write-config needs a file name")
            write_config = argv[i]
        elif a.startswith("--write-config="):
            write_config = a[len("--write-config=") :]
        elif a == "--exit-with-stdin":
            exit_with_stdin = True
        elif a == "--port":
            i += 1
            if i >= len(argv):
                usage("--port needs a number")
            port = argv[i]
        elif a.isdigit():
            port = a
        else:
            usage(f"unknown argument {a}")
        i += 1
    if not port.isdigit() or int(port) > 65535:
        usage(f"bad port {port}")
    return int(port), write_config, exit_with_stdin


def rsa_private_key_pem():
    """A fresh RSA key for RS256 ID tokens (docs/oidc.rst suggests `openssl genrsa`)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def toml_string(s):
    """A TOML basic string (JSON's escaping is valid TOML for these values)."""
    import json

    return json.dumps(s)


def target_toml(issuer, secrets, username, password):
    lines = [
        "# oauthprobe target file for django-oauth-toolkit (tests/django-oauth-toolkit/server.py)",
        'name = "django-oauth-toolkit"',
        f"issuer = {toml_string(issuer)}",
        "",
        # DOT's OpenID discovery document (the one found under the /o/ mount) names no
        # revocation_endpoint; its RFC 8414 document, /o/.well-known/oauth-authorization-server,
        # does, but not at the RFC 8414 location for this issuer (/.well-known/...-server/o).
        "[endpoints]",
        f"revocation = {toml_string(issuer + '/revoke_token/')}",
        "",
    ]
    for table, name in (("client", "basic"), ("second_client", "post"), ("public_client", "public")):
        c = CLIENTS[name]
        lines.append(f"[{table}]")
        lines.append(f"id = {toml_string(c['id'])}")
        if secrets.get(name):
            lines.append(f"secret = {toml_string(secrets[name])}")
        lines.append(f"auth_method = {toml_string(c['method'])}")
        lines.append(f"redirect_uri = {toml_string(redirect_uri(name))}")
        lines.append(f"scope = {toml_string(SCOPE)}")
        lines.append("")
    lines += ["[login]", f"username = {toml_string(username)}", f"password = {toml_string(password)}", ""]
    return "\n".join(lines)


def redirect_uri(name):
    # Port 1 on loopback: nothing listens there, and the scanner never requests it anyway.
    return f"http://127.0.0.1:1/cb/{name}"


def create_fixtures(secrets, username, password):
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.test", password=password
    )
    Application = get_application_model()
    for name, c in CLIENTS.items():
        app = Application(
            name=f"oauthprobe {name}",
            client_id=c["id"],
            user=user,
            client_type=c["type"],
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=redirect_uri(name),
            # docs/oidc.rst "OIDC Authorization Code Flow": select a signing algorithm.
            algorithm=Application.RS256_ALGORITHM,
            # Stored hashed (hash_client_secret defaults to True); only this script knows it.
            client_secret=secrets.get(name) or "",
        )
        app.full_clean()
        app.save()


def main():
    port, write_config, exit_with_stdin = parse_args(sys.argv[1:])
    secrets = {
        "basic": os.environ.get("DOT_BASIC_SECRET") or "dot-basic-secret-0123456789abcdef0123456789",
        "post": os.environ.get("DOT_POST_SECRET") or "dot-post-secret-0123456789abcdef01234567890",
    }
    username = os.environ.get("DOT_USERNAME") or "alice"
    password = os.environ.get("DOT_PASSWORD") or "alice-password-0123456789"

    workdir = tempfile.mkdtemp(prefix="dot-reference-")
    try:
        from django.core.management.utils import get_random_secret_key

        os.environ["DOT_DB_PATH"] = os.path.join(workdir, "db.sqlite3")
        os.environ["DOT_SECRET_KEY"] = get_random_secret_key()
        os.environ["DOT_OIDC_RSA_PRIVATE_KEY"] = rsa_private_key_pem()
        os.environ["DJANGO_SETTINGS_MODULE"] = "dotserver.settings"
        sys.path.insert(0, str(HERE))

        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        create_fixtures(secrets, username, password)

        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
        from django.core.wsgi import get_wsgi_application

        httpd = ThreadedWSGIServer(("127.0.0.1", port), WSGIRequestHandler)
        httpd.set_app(get_wsgi_application())
        base = f"http://127.0.0.1:{httpd.server_port}"

        if write_config:
            # DOT's issuer: the discovery URL without "/.well-known/openid-configuration".
            Path(write_config).write_text(target_toml(f"{base}/o", secrets, username, password))

        def stop(*_):
            # serve_forever() runs in the main thread: shut it down from another one.
            threading.Thread(target=httpd.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if exit_with_stdin:

            def watch_stdin():
                while sys.stdin.buffer.read(65536):
                    pass
                stop()

            threading.Thread(target=watch_stdin, daemon=True).start()

        sys.stdout.write(f"django-oauth-toolkit listening on {base}\n")
        sys.stdout.flush()
        httpd.serve_forever()
        httpd.server_close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
