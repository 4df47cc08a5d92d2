#!/usr/bin/env bash
# Load test of the lab on loopback only: builds the release binary, starts
# `oauthprobe lab --port 0`, runs wrk against discovery and against the token endpoint's error
# path, prints wrk's output (with its latency distribution) and a one-line summary for each,
# then stops the lab.
#
#   bash bench/wrk.sh [--latency-ms N]
#
#   --latency-ms N    start the lab with `--latency-ms N`: every response delayed by N ms, to
#                     stand in for a remote server (64 connections then cap out near 64000/N
#                     requests/s)
#   WRK_DURATION      how long each run lasts (default 10s)
#   CARGO_TARGET_DIR  honoured: the lab binary is taken from there (default target/)
#
# Exits non-zero when wrk reports socket errors or the lab dies.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

lab_args=()
while (($# > 0)); do
    case $1 in
    --latency-ms)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || {
            echo "--latency-ms needs a number of milliseconds" >&2
            exit 2
        }
        lab_args=(--latency-ms "$2")
        shift 2
        ;;
    --latency-ms=*)
        n=${1#*=}
        [[ $n =~ ^[0-9]+$ ]] || {
            echo "--latency-ms needs a number of milliseconds" >&2
            exit 2
        }
        lab_args=(--latency-ms "$n")
        shift
        ;;
    -h | --help)
        sed -n '2,16p' "$0"
        exit 0
        ;;
    *)
        echo "unknown argument: $1 (try --help)" >&2
        exit 2
        ;;
    esac
done
duration=${WRK_DURATION:-10s}

command -v wrk >/dev/null || {
    echo "wrk is not installed (apt-get install wrk, or run scripts/test.sh as root)" >&2
    exit 2
}

echo "== cargo build --release =="
cargo build --release
lab_bin="${CARGO_TARGET_DIR:-target}/release/oauthprobe"

workdir=$(mktemp -d)
lab_pid=""
cleanup() {
    if [[ -n $lab_pid ]] && kill -0 "$lab_pid" 2>/dev/null; then
        kill "$lab_pid" 2>/dev/null || true
        wait "$lab_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

echo "== starting the lab =="
"$lab_bin" lab --port 0 "${lab_args[@]}" >"$workdir/lab.out" 2>"$workdir/lab.err" &
lab_pid=$!

# Readiness: the lab's first stdout line names its URL. Bounded poll (at most 30 s).
base=""
for _ in $(seq 300); do
    line=$(head -n 1 "$workdir/lab.out")
    if [[ $line == "oauthprobe lab listening on "* ]]; then
        base=${line##* }
        base=${base%/}
        break
    fi
    if ! kill -0 "$lab_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [[ -z $base ]]; then
    echo "the lab did not print its URL; stdout:" >&2
    cat "$workdir/lab.out" >&2
    echo "stderr:" >&2
    tail -n 50 "$workdir/lab.err" >&2
    exit 1
fi
case $base in
http://127.0.0.1:* | http://localhost:* | http://\[::1\]:*) ;;
*)
    echo "refusing to load-test $base: not a loopback address" >&2
    exit 1
    ;;
esac
echo "lab at $base (pid $lab_pid)${lab_args[*]:+, ${lab_args[*]}}"

# One-line summary of a wrk run; exits 3 when wrk counted socket errors.
summarize() {
    awk -v name="$1" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000
            if (v ~ /s$/) return v * 1000
            return v + 0
        }
        /^ +Latency +[0-9]/ { avg = ms($2); max = ms($4) }
        /^ +50%/ { p50 = ms($2) }
        /^ +90%/ { p90 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        / requests in / { total = $1 }
        /Socket errors:/ {
            gsub(",", "")
            connect = $4; read = $6; write = $8; timeout = $10
            sock = connect + read + write + timeout
        }
        /Non-2xx or 3xx responses:/ { non = $5 }
        /^Requests\/sec:/ { rps = $2 }
        END {
            line = sprintf("summary %s: %s requests/s (%d requests), latency avg %.2fms max %.2fms", \
                name, rps, total, avg, max)
            if (p50 != "") line = line sprintf(", p50 %.2fms p90 %.2fms p99 %.2fms", p50, p90, p99)
            line = line sprintf(", socket errors %d (connect %d, read %d, write %d, timeout %d), non-2xx/3xx %d", \
                sock, connect, read, write, timeout, non)
            print line
            if (rps == "") { print "wrk printed no Requests/sec line" > "/dev/stderr"; exit 4 }
            if (sock > 0) exit 3
        }' "$2"
}

failed=0
runs=0
summaries=()
run() { # name, wrk args...
    local name=$1
    shift
    echo
    echo "== wrk -t2 -c64 -d$duration --latency: $name =="
    runs=$((runs + 1))
    local out="$workdir/wrk-$runs.out" summary rc=0
    wrk -t2 -c64 -d"$duration" --latency "$@" | tee "$out"
    summary=$(summarize "$name" "$out") || rc=$?
    echo "$summary"
    summaries+=("$summary")
    if ((rc != 0)); then
        echo "FAIL: $name: wrk reported socket errors or no result" >&2
        failed=1
    fi
    if ! kill -0 "$lab_pid" 2>/dev/null; then
        echo "FAIL: the lab died during $name; its stderr:" >&2
        tail -n 50 "$workdir/lab.err" >&2
        lab_pid=""
        exit 1
    fi
}

run "GET /.well-known/oauth-authorization-server" "$base/.well-known/oauth-authorization-server"
run "POST /token (error path)" -s bench/token-error.lua "$base/token"

echo
echo "== stopping the lab =="
kill "$lab_pid"
wait "$lab_pid" 2>/dev/null || true
lab_pid=""
echo "lab stopped"
echo
printf '%s\n' "${summaries[@]}"
exit "$failed"
