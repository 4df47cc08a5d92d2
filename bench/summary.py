"""The table of bench/run.sh, from its records (one JSON line per scenario and run) and the
JSON reports they point to. Standard library only.

    python3 bench/summary.py RECORDS LATENCY_MS TWENTY LOGIN_STEPS CORES HEADLINE_IDS CATALOG_JSON
"""

import json
import sys

MIB = 1024  # /usr/bin/time's %M is in KiB


def load(path):
    with open(path) as f:
        return json.load(f)


def reports(doc):
    """A run over several targets holds one report per target; a single scan is one."""
    return doc["reports"] if "reports" in doc else [doc]


def span(values, fmt):
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"


def secs(v):
    return f"{v:.2f}"


def mib(v):
    return f"{v / MIB:.1f}"


def verdict(parts):
    """`parts`: per run, {what: met}. "yes" when all are met in every run, else each part."""

    def one(oks):
        if all(oks):
            return "yes"
        if not any(oks):
            return "no"
        return f"{sum(oks)}/{len(oks)} runs"

    keys = list(parts[0])
    each = {k: one([p[k] for p in parts]) for k in keys}
    if all(v == "yes" for v in each.values()):
        return "yes"
    return ", ".join(f"{k} {v}" for k, v in each.items())


def main():
    records_path, latency_ms, twenty, login_steps, cores, headline, catalog_path = sys.argv[1:8]
    exclusive = {c["id"] for c in load(catalog_path) if c.get("exclusive")}
    latency = int(latency_ms) / 1000
    twenty = int(twenty)
    headline = headline.split(",")
    by = {}
    for line in open(records_path):
        r = json.loads(line)
        for s in r["scans"]:
            s["json"] = load(s["report"])
        by.setdefault(r["scenario"], []).append(r)

    problems = []
    for scenario, recs in by.items():
        for r in recs:
            for s in r["scans"]:
                summary = s["json"]["summary"]
                if s["rc"] != 0 or summary["fail"] or summary["error"] or summary.get("not_scanned"):
                    problems.append(
                        f"{scenario}, run {r['run']}: exit {s['rc']}, {summary} "
                        f"(expected no fail and no error on the secure lab)"
                    )

    # The pre-flight: one sequential chain, every request at least `latency` long.
    pre = [r["scans"][0]["json"]["duration_ms"] for r in by["pre50"]]
    preflight = min(int(d // (latency * 1000)) for d in pre)

    def checks(report, only=None):
        return [c for c in report["results"] if only is None or c["id"] in only]

    def floor(report, only=None):
        return (preflight + max(c["requests"] for c in checks(report, only))) * latency

    def bound(report, concurrency, only=None):
        """What no schedule can beat while the exclusive checks keep their guarantee: the
        issue's floor; the pre-flight plus the exclusive checks one after another (they run in
        one lane); the pre-flight plus every request spread over `concurrency` at once."""
        chosen = checks(report, only)
        lane = sum(c["requests"] for c in chosen if c["id"] in exclusive)
        spread = sum(c["requests"] for c in chosen) / concurrency
        return max(floor(report, only), (preflight + lane) * latency, (preflight + spread) * latency)

    rows = []

    def row(
        name, scenario, floor_of=None, target=None, ok=None, only=None, reqs_text=None, bound_of=None
    ):
        recs = by[scenario]
        walls = [r["wall"] for r in recs]
        floors = [floor_of(r) for r in recs] if floor_of else None
        reqs = [
            sum(c["requests"] for s in r["scans"] for rep in reports(s["json"]) for c in checks(rep, only))
            for r in recs
        ]
        rss = [r["scans"][0]["rss_kb"] for r in recs]
        rss_text = span(rss, mib)
        per = sum(len(reports(s["json"])) for s in recs[0]["scans"])
        req_text = span(reqs, str) if per == 1 else f"{span(reqs, str)} ({per} × {reqs[0] // per})"
        rows.append(
            [
                name,
                span(walls, secs),
                span(floors, secs) if floors else "",
                span([bound_of(r) for r in recs], secs) if bound_of else "",
                reqs_text or req_text,
                rss_text,
                target or "",
                verdict([ok(r, rss[i], floors[i] if floors else None) for i, r in enumerate(recs)])
                if ok
                else "",
            ]
        )

    one_rss = 50 * MIB
    row(
        "whole catalog, in-process (demo)",
        "demo",
        target="≤ 0.5 s; RSS < 50 MB",
        ok=lambda r, rss, f: {"wall": r["wall"] <= 0.5, "RSS": rss < one_rss},
    )
    row(
        "whole catalog, lab at 0 ms",
        "lab0",
        target="RSS < 50 MB",
        ok=lambda r, rss, f: {"RSS": rss < one_rss},
    )
    row(
        f"pre-flight alone, lab at {latency_ms} ms",
        "pre50",
        floor_of=lambda r: preflight * latency,
        reqs_text=f"{preflight} (measured)",
    )
    for scenario, concurrency in [("cat50", 4), ("cat50x16", 16)]:
        row(
            f"whole catalog, lab at {latency_ms} ms, --concurrency {concurrency}",
            scenario,
            floor_of=lambda r: floor(r["scans"][0]["json"]),
            bound_of=lambda r, c=concurrency: bound(r["scans"][0]["json"], c),
            target="≤ 2× floor and ≤ 3 s; RSS < 50 MB",
            ok=lambda r, rss, f: {
                "2× floor": r["wall"] <= 2 * f,
                "3 s": r["wall"] <= 3,
                "RSS": rss < one_rss,
            },
        )
    for scenario, concurrency in [("head50", 4), ("head50x16", 16)]:
        row(
            f"ten headline checks, lab at {latency_ms} ms, --concurrency {concurrency}",
            scenario,
            floor_of=lambda r: floor(r["scans"][0]["json"], headline),
            bound_of=lambda r, c=concurrency: bound(r["scans"][0]["json"], c, headline),
            target="< 1 s; RSS < 50 MB",
            ok=lambda r, rss, f: {"wall": r["wall"] < 1, "RSS": rss < one_rss},
            only=headline,
        )
    row(
        f"{twenty} labs at 0 ms, one run (--config DIR/)",
        "twenty",
        target="< 5 s; RSS < 150 MB",
        ok=lambda r, rss, f: {"wall": r["wall"] < 5, "RSS": rss < 150 * MIB},
    )

    head = ["scenario", "wall s", "floor s", "bound s", "requests", "peak RSS MiB", "target", "met?"]
    widths = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    n = len(by["demo"])
    print(f"oauthprobe scan benchmark · {n} runs per scenario (min–max) · {cores} cores · loopback")
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    print()
    print(
        f"floor = (pre-flight + the longest check's requests) × {latency_ms} ms, assuming each check's "
        f"requests are sequential; pre-flight = {preflight} requests (measured: floor of the "
        f"pre-flight-alone scan's duration_ms {span(pre, str)} / {latency_ms}; `oauthprobe login` "
        f"walks the sign-in in {login_steps} requests, plus the metadata and the control redemption)."
    )
    print(
        "bound = the most of: the floor; (pre-flight + the exclusive checks' requests, which run "
        f"one after another in their lane) × {latency_ms} ms; (pre-flight + all requests / "
        f"concurrency) × {latency_ms} ms. No schedule beats it while the exclusive checks keep "
        "their guarantee."
    )
    print(
        "requests = the sum of the report's per-check counts (the pre-flight not included); "
        "RSS of the scanning process (the demo's includes its in-process lab); MiB = 1024 KiB."
    )
    # Requests per check, from the first whole-catalog run at 50 ms, next to its duration there
    # and in-process.
    cat = by["cat50"][0]["scans"][0]["json"]["results"]
    demo = {c["id"]: c for c in by["demo"][0]["scans"][0]["json"]["results"]}
    print()
    print(
        f"requests per check (whole catalog; ms: the check's own duration at {latency_ms} ms, "
        f"waiting for its turn included, / in-process):"
    )
    cells = [
        f"{c['id']:<42} {c['requests']:>3} {c['duration_ms']:>6} /{demo[c['id']]['duration_ms']:>4}"
        for c in cat
    ]
    half = (len(cells) + 1) // 2
    for i in range(half):
        left = cells[i]
        right = cells[i + half] if i + half < len(cells) else ""
        print(f"  {left}   {right}".rstrip())
    counts = sorted(c["requests"] for c in cat)
    hist = {}
    for k in counts:
        hist[k] = hist.get(k, 0) + 1
    print(
        f"  {len(counts)} checks, {sum(counts)} requests; checks by request count: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(hist.items()))
    )

    if problems:
        print()
        print("PROBLEMS (these runs' timings mean little):")
        for p in problems:
            print(f"  {p}")
        sys.exit(1)


if __name__ == "__main__":
    main()
