#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs fmt, clippy and the
# whole test suite, then the fuzz targets (OAUTHPROBE_FUZZ_SECONDS each, default 60). Works
# non-interactively on a fresh Debian machine as root.
#   bash scripts/test.sh
# With CI=true, the browser tests fail (instead of skipping) when Chromium is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

section() { printf '\n== %s ==\n' "$*"; }

# Debian packages the tests use, as "command:package" (python3 runs the login-command test
# program; GNU time measures the hostile-server suite's peak RSS; xmllint validates the JUnit report).
needed=(chromium:chromium chromedriver:chromium-driver wrk:wrk python3:python3 /usr/bin/time:time xmllint:libxml2-utils)

section "test dependencies"
missing=()
for pair in "${needed[@]}"; do
    cmd=${pair%%:*} pkg=${pair#*:}
    if command -v "$cmd" >/dev/null 2>&1; then
        echo "have $cmd"
    else
        missing+=("$pkg")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "all present"
elif [[ $(id -u) -ne 0 ]]; then
    echo "not root: skipping apt-get install of ${missing[*]} (browser tests will skip unless CI=true)"
elif ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get: cannot install ${missing[*]} (browser tests will skip unless CI=true)"
else
    echo "installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    echo "installed ${missing[*]}"
fi

section "node oidc-provider (reference server)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "no node/npm and cannot apt-get them (the oidc-provider test will skip unless CI=true)"
    fi
fi
if command -v node >/dev/null 2>&1; then
    echo "have node $(node --version), npm $(npm --version 2>/dev/null || echo none)"
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=12)?0:1)' \
        || echo "node $(node --version) is older than 20.12: oidc-provider 9 will not run (the test skips, or fails under CI=true)"
fi
if command -v npm >/dev/null 2>&1; then
    (cd tests/oidc-provider && npm ci --no-audit --no-fund)
fi

section "python test environments (tests/*/requirements.txt, pinned)"
# Each Python reference server, and the SARIF validator, keeps its exact pins in its own requirements.txt and
# gets its own virtualenv beside it (tests/NAME/.venv), which its integration test uses.
for req in tests/*/requirements.txt; do
    [[ -f $req ]] || continue
    dir=$(dirname "$req")
    if ! command -v python3 >/dev/null 2>&1; then
        echo "no python3: cannot set up $dir (its test will skip unless CI=true)"
        continue
    fi
    if [[ ! -x $dir/.venv/bin/python ]]; then
        python3 -m venv "$dir/.venv"
    fi
    "$dir/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "ready: $dir ($("$dir/.venv/bin/python" --version))"
done

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

section "cargo test"
# --all-targets runs the lib, bins, integration tests (and benches/examples as tests) but not
# doctests, so those get their own run. The last line adds up every "test result:" line.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The fuzz targets run here only their minimum number of cases, on a fixed seed; their budgeted
# run is the next section.
# A failing test's message sits above its backtrace and the long list of passing tests; CI shows
# only the start and the end of the output, so on failure the messages are repeated last.
failure_messages() {
    echo "--- why the failing tests failed (each panic's first lines) ---"
    grep -A8 "panicked at" "$log" | grep -v "^ *[0-9]*: \|^ *at " | cut -c1-400 | head -120 || true
}
if ! OAUTHPROBE_FUZZ_SECONDS=0 OAUTHPROBE_FUZZ_SEED=1 cargo test --all-targets 2>&1 | tee "$log"; then
    failure_messages
    exit 101
fi
if [[ -f src/lib.rs ]]; then
    cargo test --doc 2>&1 | tee -a "$log"
fi
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "total: %d passed, %d failed, %d ignored\n", p, f, i }' "$log"

section "fuzz (tests/fuzz, ${OAUTHPROBE_FUZZ_SECONDS:=60} s per target)"
# Each target generates cases until its budget is spent, one test thread per core (7 targets of
# 60 s on 2 cores: about 4 minutes). A failure prints the case seed that replays it (README:
# Fuzzing); the base seed is fresh each run unless OAUTHPROBE_FUZZ_SEED is set. Its tests are
# counted in the total above.
export OAUTHPROBE_FUZZ_SECONDS
cargo test --test fuzz -- --nocapture 2>&1 | tee -a "$log"

section "no panic anywhere"
# Every test passed, but a panic caught on the way (a check's task, a fuzz case) still prints
# "panicked": none may.
if grep -n "panicked" "$log"; then
    echo "a panic was printed above"
    exit 1
fi
echo "none printed"
