"""django-oidc-provider (version pinned in requirements.txt) as a reference authorization server
for oauthprobe. Serves on 127.0.0.1 only.

    python server.py [PORT] [--write-config FILE] [--exit-with-stdin]

PORT (or env PORT; 0 or none = a free port). It migrates a fresh SQLite database in a temporary
directory, creates an RSA signing key (`creatersakey`, as the package's "Server Keys" page says),
a test user and three clients, and once listening prints exactly one line to stdout:

    django-oidc-provider listening on http://127.0.0.1:PORT

--write-config FILE (or env DJOP_WRITE_CONFIG) writes the matching oauthprobe target file before
that line is printed. --exit-with-stdin ends the server when its stdin closes (so a test that
dies cannot leave it behind). It also stops on SIGINT and SIGTERM, and removes its temporary
directory then.

The issuer is http://127.0.0.1:PORT/openid: django-oidc-provider's issuer is the site URL plus
the path its URLs are mounted on (oidc_provider/lib/utils/common.py, get_issuer).

Secrets and the test user come from the environment, with defaults:
  OP_BASIC_SECRET, OP_POST_SECRET, OP_USERNAME, OP_PASSWORD
DJOP_LOG_REQUESTS=1 keeps Django's request log (one stderr line per request); it is off by
default, and errors are logged to stderr either way.
"""

import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent

CLIENTS = {
    "basic": ("oauthprobe-basic", "client_secret_basic"),
    "post": ("oauthprobe-post", "client_secret_post"),
    "public": ("oauthprobe-public", "none"),
}
# The scopes django-oidc-provider knows (oidc_provider/lib/claims.py, StandardScopeClaims);
# it issues a refresh token with every code, so there is no offline_access to ask for.
SCOPE = "openid profile email"


def usage(why):
    sys.stderr.write(
        f"server.py: {why}\n"
        "usage: python server.py [PORT] [--write-config FILE] [--exit-with-stdin]\n"
    )
    sys.exit(2)


def parse_args(argv):
    port = os.environ.get("PORT", "0")
    write_config = os.environ.get("DJOP_WRITE_CONFIG") or None
    exit_with_stdin = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--write-config":
            i += 1
            if i >= len(argv) or not argv[i]:
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
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        usage(f"bad port {port}")
    return int(port), write_config, exit_with_stdin


def toml_str(s):
    """A TOML basic string (JSON's escaping is valid TOML for these values)."""
    import json

    return json.dumps(s)


def main():
    port, write_config, exit_with_stdin = parse_args(sys.argv[1:])
    env = lambda name, fallback: os.environ.get(name) or fallback  # noqa: E731
    secrets_by_client = {
        "basic": env("OP_BASIC_SECRET", "basic-secret-0123456789abcdef0123456789"),
        "post": env("OP_POST_SECRET", "post-secret-0123456789abcdef01234567890"),
        "public": None,
    }
    username = env("OP_USERNAME", "alice")
    password = env("OP_PASSWORD", "alice-password-0123456789")

    workdir = tempfile.mkdtemp(prefix="django-oidc-provider-")
    os.environ["DJOP_DATABASE"] = str(Path(workdir) / "db.sqlite3")
    os.environ["DJOP_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["DJANGO_SETTINGS_MODULE"] = "refserver.settings"
    sys.path.insert(0, str(HERE))

    # Bind first: the issuer (and so the redirect URIs) carries the port.
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    try:
        httpd = ThreadedWSGIServer(("127.0.0.1", port), WSGIRequestHandler, ipv6=False)
    except OSError as e:
        sys.stderr.write(f"server.py: cannot listen on 127.0.0.1:{port}: {e}\n")
        shutil.rmtree(workdir, ignore_errors=True)
        sys.exit(1)
    port = httpd.server_address[1]
    base = f"http://127.0.0.1:{port}"
    issuer = f"{base}/openid"
    # Nothing listens on port 1: the scanner never follows the redirect back to the client.
    redirect_uri = lambda name: f"http://127.0.0.1:1/cb/{name}"  # noqa: E731

    import django
    from django.core.management import call_command

    django.setup()
    # Management commands print to stdout; stdout is kept for the one "listening" line.
    call_command("migrate", interactive=False, verbosity=0, stdout=sys.stderr)
    call_command("creatersakey", stdout=sys.stderr)

    from django.contrib.auth.models import User
    from oidc_provider.models import Client, ResponseType

    User.objects.create_user(
        username=username,
        password=password,
        email=f"{username}@example.test",
        first_name="Alice",
        last_name="Example",
    )
    code = ResponseType.objects.get(value="code")
    for name, (client_id, method) in CLIENTS.items():
        # The package's "Relying Parties" page, "Programmatically". Every other field keeps its
        # model default (require_consent true, jwt_alg RS256) except reuse_consent: by default
        # the package remembers a consent per user and client but keeps only the scope of the
        # last approval (AuthorizeEndpoint.set_client_user_consent), so whether a request shows
        # the consent page would depend on which of the scanner's concurrent checks approved a
        # narrower scope last. Asking every time makes the verdicts deterministic (README.md).
        client = Client(
            name=f"oauthprobe {name}",
            client_type="public" if method == "none" else "confidential",
            client_id=client_id,
            client_secret=secrets_by_client[name] or "",
            redirect_uris=[redirect_uri(name)],
            reuse_consent=False,
        )
        client.save()
        client.response_types.add(code)

    from django.core.wsgi import get_wsgi_application

    httpd.set_app(get_wsgi_application())
    # After get_wsgi_application(), which configures logging again. With DEBUG = False Django
    # mails the tracebacks of server errors to ADMINS (nobody); print them to stderr instead.
    errors = logging.StreamHandler(sys.stderr)
    errors.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.getLogger("django.request").addHandler(errors)
    if not os.environ.get("DJOP_LOG_REQUESTS"):
        logging.getLogger("django.server").setLevel(logging.WARNING)

    if write_config:
        lines = [
            "# oauthprobe target file for django-oidc-provider "
            "(tests/django-oidc-provider/server.py)",
            'name = "django-oidc-provider"',
            f"issuer = {toml_str(issuer)}",
            "",
        ]
        for table, name in (
            ("client", "basic"),
            ("second_client", "post"),
            ("public_client", "public"),
        ):
            client_id, method = CLIENTS[name]
            lines.append(f"[{table}]")
            lines.append(f"id = {toml_str(client_id)}")
            if secrets_by_client[name]:
                lines.append(f"secret = {toml_str(secrets_by_client[name])}")
            lines.append(f"auth_method = {toml_str(method)}")
            lines.append(f"redirect_uri = {toml_str(redirect_uri(name))}")
            lines.append(f"scope = {toml_str(SCOPE)}")
            lines.append("")
        lines += [
            "[login]",
            f"username = {toml_str(username)}",
            f"password = {toml_str(password)}",
            "",
        ]
        Path(write_config).write_text("\n".join(lines))

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if exit_with_stdin:

        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except OSError:
                pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()

    serving = threading.Thread(target=httpd.serve_forever, daemon=True)
    serving.start()
    # serve_forever polls a socket that already accepts connections: ready now.
    sys.stdout.write(f"django-oidc-provider listening on {base}\n")
    sys.stdout.flush()

    while not stop.wait(3600):
        pass
    httpd.shutdown()
    httpd.server_close()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    # A clean exit if stdout's reader goes away.
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
