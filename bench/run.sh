#!/usr/bin/env bash
# Scan benchmark, loopback only: builds the release binary, then measures, each scenario
# BENCH_RUNS times (default 3), the wall time and peak RSS (`/usr/bin/time -f %e,%M`) of:
#
#   - the whole catalog in-process (`oauthprobe demo`: the lab and the scanner in one process);
#   - the whole catalog against a lab in its own process at 0 ms;
#   - the pre-flight alone against a lab at 50 ms latency (`--only code-expires`, which is
#     skipped without a request unless --slow: what is left is the pre-flight);
#   - the whole catalog against a lab at 50 ms latency (`oauthprobe lab --latency-ms 50`);
#   - the ten headline checks (HEADLINE below) against the same lab;
#   - both again at --concurrency 16;
#   - twenty labs at 0 ms scanned in one run: `oauthprobe scan --config DIR/` over a directory
#     of twenty target files, one per lab, under the default --concurrency.
#
# and prints one table (scenario | wall s | floor s | requests | peak RSS MiB | target | met?)
# with the min–max over the runs, then the requests each check made. Every report is checked:
# a scan with a fail or an error on the (secure) lab is said, since its timing would mean nothing.
#
#   bash bench/run.sh [--no-build]
#
#   --no-build        reuse the release binary as it is (default: `cargo build --release` first)
#   BENCH_RUNS        runs per scenario (default 3)
#   CARGO_TARGET_DIR  honoured: the binary is taken from there (default target/)
#
# The floor at 50 ms is (pre-flight requests + the most requests any one selected check made)
# × 50 ms, from the report's own per-check `requests`. It assumes that one check's requests go
# one after another (true of all but code-single-use-concurrent, so it is, if anything, high)
# and that everything else could overlap. The JSON report does not count the pre-flight's
# requests, and the pre-flight is one sequential chain, so its count is measured:
# floor(duration_ms / 50) of the pre-flight-alone scan (every request there costs at least
# 50 ms, the scanner's own work well under 50 ms). `oauthprobe login` shows the same walk step
# by step; its step count is printed next to it as a cross-check.
#
# Everything listens on 127.0.0.1, port 0. Every process started here is stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
while (($# > 0)); do
    case $1 in
    --no-build)
        build=0
        shift
        ;;
    -h | --help)
        sed -n '2,34p' "$0"
        exit 0
        ;;
    *)
        echo "unknown argument: $1 (try --help)" >&2
        exit 2
        ;;
    esac
done
runs=${BENCH_RUNS:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || {
    echo "BENCH_RUNS must be a positive number" >&2
    exit 2
}
[[ -x /usr/bin/time ]] || {
    echo "/usr/bin/time is missing (apt-get install time)" >&2
    exit 2
}
command -v python3 >/dev/null || {
    echo "python3 is missing" >&2
    exit 2
}

# The ten headline checks: the central attacks on the authorization code flow, one or two per
# family (redirect_uri, the code, state, iss, PKCE, the token endpoint, client authentication,
# refresh tokens).
HEADLINE=(
    redirect-uri-exact-match
    code-single-use
    code-bound-to-client
    state-echoed
    iss-present
    pkce-required-public-client
    pkce-verifier-without-challenge-refused
    token-endpoint-rejects-get
    client-auth-required
    refresh-replay-revokes-grant
)
LATENCY_MS=50
TWENTY=20

if ((build)); then
    echo "== cargo build --release =="
    cargo build --release
fi
bin="${CARGO_TARGET_DIR:-target}/release/oauthprobe"
[[ -x $bin ]] || {
    echo "no binary at $bin (run without --no-build)" >&2
    exit 2
}
for id in "${HEADLINE[@]}"; do
    "$bin" checks explain "$id" >/dev/null || {
        echo "headline check $id is not in the catalog" >&2
        exit 2
    }
done

work=$(mktemp -d /tmp/bench-XXXXXX)
lab_pids=()
cleanup() {
    local pid
    for pid in "${lab_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${lab_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_lab NAME LATENCY_MS: a lab on 127.0.0.1:0 writing its target file to $work/NAME.toml.
start_lab() {
    local name=$1 latency=$2 pid line base=""
    "$bin" lab --port 0 --latency-ms "$latency" --write-config "$work/$name.toml" \
        >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    lab_pids+=("$pid")
    # Ready once it has said where it wrote the target file (bounded: at most 30 s).
    for _ in $(seq 300); do
        if grep -q '^  target file written to ' "$work/$name.out"; then
            line=$(head -n 1 "$work/$name.out")
            base=${line##* }
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    case $base in
    http://127.0.0.1:*) ;;
    *)
        echo "lab $name did not start on 127.0.0.1 (stdout, then stderr):" >&2
        cat "$work/$name.out" "$work/$name.err" >&2
        exit 1
        ;;
    esac
}

records="$work/records.jsonl"
: >"$records"

# record SCENARIO RUN WALL NAME...: one line of JSON for the summary, from the time files
# and reports $work/NAME.time and $work/NAME.json (and exit codes in $work/NAME.rc).
record() {
    local scenario=$1 run=$2 wall=$3
    shift 3
    python3 - "$work" "$scenario" "$run" "$wall" "$@" >>"$records" <<'EOF'
import json, sys
work, scenario, run, wall, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
scans = []
for n in names:
    last = open(f"{work}/{n}.time").read().strip().splitlines()[-1]
    secs, rss_kb = last.split(",")
    scans.append({"report": f"{work}/{n}.json", "wall": float(secs), "rss_kb": int(rss_kb),
                  "rc": int(open(f"{work}/{n}.rc").read())})
wall = float(wall) if wall != "-" else scans[0]["wall"]
print(json.dumps({"scenario": scenario, "run": run, "wall": wall, "scans": scans}))
EOF
}

# timed NAME ARGS...: runs `oauthprobe ARGS --format json --output $work/NAME.json` under
# /usr/bin/time, keeping its exit code (a scan's verdicts are checked in the summary).
timed() {
    local name=$1 rc=0
    shift
    /usr/bin/time -o "$work/$name.time" -f %e,%M \
        "$bin" "$@" --format json --output "$work/$name.json" \
        >"$work/$name.stdout" 2>"$work/$name.stderr" || rc=$?
    echo "$rc" >"$work/$name.rc"
}

echo "== starting the labs (127.0.0.1, port 0) =="
start_lab lab0 0
start_lab lab50 "$LATENCY_MS"
mkdir "$work/twenty"
for i in $(seq "$TWENTY"); do
    start_lab "t$i" 0
    # One run knows its targets by name: each lab's file gets its own.
    sed "s/^name = \"lab\"$/name = \"lab-$i\"/" "$work/t$i.toml" >"$work/twenty/t$i.toml"
    grep -q "^name = \"lab-$i\"$" "$work/twenty/t$i.toml" || {
        echo "the lab's target file has no name = \"lab\" line to rename" >&2
        exit 1
    }
done
echo "labs up: 1 at 0 ms, 1 at $LATENCY_MS ms, $TWENTY at 0 ms"

# The pre-flight's walk, step by step, for the cross-check of its request count.
login_steps=$("$bin" login --config "$work/lab50.toml" 2>&1 | grep -cE '^ *[0-9]+\. (GET|POST) ' || true)

headline=$(
    IFS=,
    echo "${HEADLINE[*]}"
)
for run in $(seq "$runs"); do
    echo "== run $run of $runs =="
    timed "demo-$run" demo
    record demo "$run" - "demo-$run"
    timed "lab0-$run" scan --config "$work/lab0.toml"
    record lab0 "$run" - "lab0-$run"
    timed "pre50-$run" scan --config "$work/lab50.toml" --only code-expires
    record pre50 "$run" - "pre50-$run"
    timed "cat50-$run" scan --config "$work/lab50.toml"
    record cat50 "$run" - "cat50-$run"
    timed "head50-$run" scan --config "$work/lab50.toml" --only "$headline"
    record head50 "$run" - "head50-$run"
    timed "cat50x16-$run" scan --config "$work/lab50.toml" --concurrency 16
    record cat50x16 "$run" - "cat50x16-$run"
    timed "head50x16-$run" scan --config "$work/lab50.toml" --only "$headline" --concurrency 16
    record head50x16 "$run" - "head50x16-$run"

    timed "twenty-$run" scan --config "$work/twenty/"
    record twenty "$run" - "twenty-$run"
done

for pid in "${lab_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || {
        echo "a lab died during the benchmark (pid $pid)" >&2
        exit 1
    }
done

"$bin" checks --format json >"$work/catalog.json"
echo
python3 bench/summary.py "$records" "$LATENCY_MS" "$TWENTY" "$login_steps" "$(nproc)" "$headline" "$work/catalog.json"
