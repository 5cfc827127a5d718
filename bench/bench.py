#!/usr/bin/env python3
"""Side-by-side benchmark: stampede and real k6 running the same script against the same
local target, interleaved A B A B, medians and ratios printed as a table.

The target runs pinned to CPU 0, the load tool pinned to CPU 1 (stampede with one worker).
Request counts are cross-checked with the target's own counter (/_target/stats).
"""
import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAMPEDE = os.path.join(ROOT, "target", "release", "stampede")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def target_count(base):
    with urllib.request.urlopen(base + "/_target/stats", timeout=5) as r:
        return json.load(r)["total_requests"]


def wait_up(base):
    for _ in range(100):
        try:
            target_count(base)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("target did not start")


def timed(cmd, env):
    """Runs cmd under /usr/bin/time; returns (user+sys CPU seconds, peak RSS KiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%U %S %M", "-o", tf.name] + cmd
        p = subprocess.run(full, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr[-2000:])
            raise SystemExit(f"{cmd[0]} failed with {p.returncode}")
        user, sys_, rss = tf.read().split()[-3:]
        return float(user) + float(sys_), int(rss)


def run_tool(tool, script, base, duration, vus, extra_env=None, workers=1):
    env = dict(os.environ, BASE_URL=base, DURATION=duration, VUS=str(vus), K6_NO_USAGE_REPORT="true")
    env.update(extra_env or {})
    export = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    if tool == "stampede":
        cmd = ["taskset", "-c", "1", STAMPEDE, "run", "-q", "--workers", str(workers)]
    else:
        cmd = ["taskset", "-c", "1", "k6", "run", "-q"]
    cmd += ["--summary-trend-stats", "avg,min,med,max,p(90),p(95),p(99)"]
    cmd += ["--summary-export", export, "-e", f"BASE_URL={base}"]
    for k, v in (extra_env or {}).items():
        cmd += ["-e", f"{k}={v}"]
    cmd += [script]
    before = target_count(base)
    t0 = time.monotonic()
    cpu, rss = timed(cmd, env)
    wall = time.monotonic() - t0
    served = target_count(base) - before
    with open(export) as f:
        m = json.load(f)["metrics"]
    os.unlink(export)
    reqs = m["http_reqs"]["count"]
    dur = m["http_req_duration"]
    return {
        "reqs": reqs,
        "served": served,
        "rps": m["http_reqs"]["rate"],
        "cpu_us_per_req": cpu / max(reqs, 1) * 1e6,
        "p50": dur.get("med", 0.0),
        "p99": dur["p(99)"],
        "rss_mib": rss / 1024,
        "wall": wall,
        "iterations": m.get("iterations", {}).get("count", 0),
        "dropped": m.get("dropped_iterations", {}).get("count", 0),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--vus", type=int, default=50)
    ap.add_argument("--tools", default="stampede,k6")
    ap.add_argument("--out", default=None, help="append the table to this markdown file")
    ap.add_argument("--case", default="1", help="1 throughput, 2 many VUs, 3 open model, 4 accuracy")
    args = ap.parse_args()
    if not os.path.exists(STAMPEDE):
        raise SystemExit("build first: cargo build --release -p stampede")
    tools = [t for t in args.tools.split(",") if t == "stampede" or shutil.which(t)]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    target = subprocess.Popen(["taskset", "-c", "0", STAMPEDE, "serve-demo", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(base)
        if args.case != "1":
            table = other_case(args, tools, base)
            print()
            print(table)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n{table}\n")
            return
        script = os.path.join(ROOT, "bench", "scripts", "throughput.js")
        results = {t: [] for t in tools}
        for i in range(args.runs):
            for t in tools:  # interleaved A B A B
                r = run_tool(t, script, base, args.duration, args.vus)
                if abs(r["served"] - r["reqs"]) > max(5, r["reqs"] * 0.001):
                    raise SystemExit(f"{t}: reported {r['reqs']} requests, target served {r['served']}")
                results[t].append(r)
                print(f"run {i + 1} {t:9s} {r['rps']:10.0f} req/s  {r['cpu_us_per_req']:7.1f} us CPU/req  "
                      f"p99 {r['p99']:.2f} ms  served {r['served']}", flush=True)
    finally:
        target.terminate()
        target.wait()

    med = {t: {k: statistics.median(r[k] for r in results[t]) for k in results[t][0]} for t in tools}
    lines = [
        f"### case 1: throughput, {args.vus} VUs, http.get + check, {args.duration}, {args.runs} runs each (medians)",
        "",
        "| tool | req/s | CPU us/req | p99 ms | peak RSS MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in tools:
        m = med[t]
        lines.append(f"| {t} | {m['rps']:.0f} | {m['cpu_us_per_req']:.1f} | {m['p99']:.2f} | {m['rss_mib']:.1f} |")
    if "k6" in med:
        s, k = med["stampede"], med["k6"]
        lines += ["", f"stampede / k6: **{s['rps'] / k['rps']:.2f}x req/s**, "
                      f"**{k['cpu_us_per_req'] / s['cpu_us_per_req']:.2f}x less CPU per request**"]
    table = "\n".join(lines)
    print()
    print(table)
    if args.out:
        with open(args.out, "a") as f:
            f.write(f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n{table}\n")


def other_case(args, tools, base):
    """Cases 2-4: one run per tool per setting (interleaved), a table of what each case asks."""
    scripts = os.path.join(ROOT, "bench", "scripts")
    rows = []
    if args.case == "2":
        head = ["VUs", "tool", "peak RSS MiB", "KiB per VU", "req/s", "ideal req/s", "of ideal"]
        for n in [int(x) for x in os.environ.get("BENCH_VUS", "1000,5000").split(",")]:
            for t in tools:
                r = run_tool(t, os.path.join(scripts, "many-vus.js"), base, args.duration, n, {"VUS": str(n)}, workers=1)
                rows.append([n, t, f"{r['rss_mib']:.0f}", f"{r['rss_mib'] * 1024 / n:.0f}", f"{r['rps']:.0f}", n,
                             f"{r['rps'] / n * 100:.0f}%"])
                print(rows[-1], flush=True)
        title = f"### case 2: many VUs, http.get + sleep(1), {args.duration} (includes VU start-up)"
    elif args.case == "3":
        head = ["rate/s", "tool", "scheduled", "completed", "dropped", "completed of scheduled", "CPU us/req"]
        secs = float(args.duration.rstrip("s"))
        for rate in [int(x) for x in os.environ.get("BENCH_RATES", "5000,20000").split(",")]:
            for t in tools:
                env = {"RATE": str(rate), "PRE_VUS": "200", "MAX_VUS": "2000"}
                r = run_tool(t, os.path.join(scripts, "open-model.js"), base, args.duration, 0, env, workers=1)
                sched = rate * secs
                rows.append([rate, t, int(sched), int(r["iterations"]), int(r["dropped"]),
                             f"{r['iterations'] / sched * 100:.2f}%", f"{r['cpu_us_per_req']:.1f}"])
                print(rows[-1], flush=True)
        title = f"### case 3: open model, constant-arrival-rate, {args.duration}, one core"
    else:
        head = ["tool", "p50 ms", "p99 ms", "p99 over the 20 ms floor"]
        for t in tools:
            env = {"RATE": "2000", "PATH_": "/delay/20", "PRE_VUS": "100", "MAX_VUS": "400"}
            r = run_tool(t, os.path.join(scripts, "open-model.js"), base, args.duration, 0, env, workers=1)
            rows.append([t, f"{r['p50']:.2f}", f"{r['p99']:.2f}", f"{r['p99'] - 20:.2f} ms"])
            print(rows[-1], flush=True)
        title = f"### case 4: accuracy, /delay/20 at 2,000 req/s, {args.duration}"
    lines = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
