"""Benchmark (not a test): many gemeenten as separate flow runs through one real Prefect server
and worker(s) on this machine: gemeenten per hour and peak memory.

    python benchmarks/bench_region.py --work DIR --sample 20      # a size-stratified sample of 20
    python benchmarks/bench_region.py --work DIR --all            # every gemeente of the country (403)

Each gemeente is synthesized on its own (fixed seed, scale 1.0: real numbers of households)
into DIR/gemeenten/<code>/sources, with its own settings, work directory and key file
(DIR/keys/, outside the gemeente folders); kept between runs (`--reuse`). Then: one
`prefect server start` (its database in DIR/prefect; its start-up timed once), a work pool
with `--workers` process workers (`--limit` flow runs each), the deployments
(`wijksignaal deploy --region`), and one regional run (`wijksignaal region`, concurrency
`--concurrency`). A sampler adds up the resident memory of the server, the workers, the flow
run processes they start and the regional run, every 0.5 s. Per flow run, Prefect's own
times (scheduled -> running -> finished) give the time spent starting a process and in the
flow. Writes DIR/bench-region-<n>.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PERIOD = "2026-10"
SEED = 20261001
PREFECT = str(Path(sys.executable).with_name("prefect"))
PAGE = os.sysconf("SC_PAGE_SIZE")


def env(**extra) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    e.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]), **extra)
    return e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_of(codes_by_size: list[str], n: int) -> list[str]:
    """n gemeenten spread evenly over the size order (smallest and largest included)."""
    if n >= len(codes_by_size):
        return list(codes_by_size)
    step = (len(codes_by_size) - 1) / (n - 1)
    return [codes_by_size[round(i * step)] for i in range(n)]


class Tree:
    """Resident memory of some processes and all their descendants, sampled."""

    def __init__(self):
        self.roots: set[int] = set()
        self.peak = 0
        self.peak_processes = 0
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _stat(self):
        parent, rss = {}, {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{d}/statm") as fh:
                    rss[int(d)] = int(fh.read().split()[1]) * PAGE
                parent[int(d)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
        return parent, rss

    def measure(self) -> tuple[int, int]:
        parent, rss = self._stat()
        children: dict[int, list[int]] = {}
        for pid, ppid in parent.items():
            children.setdefault(ppid, []).append(pid)
        seen, stack = set(), [r for r in self.roots if r in rss]
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            stack.extend(children.get(p, []))
        return sum(rss.get(p, 0) for p in seen), len(seen)

    def _loop(self):
        t0 = time.monotonic()
        while not self._stop.is_set():
            total, n = self.measure()
            self.samples.append((round(time.monotonic() - t0, 1), total, n))
            if total > self.peak:
                self.peak, self.peak_processes = total, n
            time.sleep(0.5)

    def stop(self):
        self._stop.set()


def start(args, environment, log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=environment, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def synthesize_all(work: Path, codes: list[str], scale: float) -> dict:
    from pipelines.synth import synthesize

    keys = work / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    made, t0 = {}, time.perf_counter()
    for code in codes:
        folder = work / "gemeenten" / code
        manifest = folder / "sources" / "synth_manifest.json"
        if manifest.exists():
            made[code] = json.loads(manifest.read_text())
        else:
            made[code] = synthesize(folder / "sources", gemeente=code, period=PERIOD, seed=SEED, scale=scale)
        (folder / "gemeente.yaml").write_text(
            f"gemeente: {code}\nperiod: '{PERIOD}'\nsources_dir: sources\nwork_dir: work\n"
            f"key_file: {keys / (code + '.key')}\n", encoding="utf-8")
    return {"seconds": round(time.perf_counter() - t0, 1), "manifests": made}


def flow_run_times(url: str, names: set[str]) -> list[dict]:
    import httpx

    out, offset = [], 0
    while True:
        page = httpx.post(f"{url}/flow_runs/filter", json={
            "flows": {"name": {"any_": ["wijksignaal-release"]}}, "limit": 200, "offset": offset,
            "sort": "ID_DESC"}, timeout=60).json()
        out += [r for r in page if r["name"] in names]
        if len(page) < 200:
            return out
        offset += 200


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, help="benchmark folder (kept: sources are reused)")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--sample", type=int, default=20, help="gemeenten, spread over sizes (default 20)")
    which.add_argument("--all", action="store_true", help="every gemeente of the country")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=1, help="process workers on the pool")
    ap.add_argument("--limit", type=int, default=2, help="flow runs at once per worker (default 2: the cores)")
    ap.add_argument("--concurrency", type=int, default=4, help="the region's gemeenten in flight")
    ap.add_argument("--query-seconds", type=float, default=2, help="PREFECT_WORKER_QUERY_SECONDS (Prefect: 10)")
    ap.add_argument("--synth-only", action="store_true")
    args = ap.parse_args()

    from pipelines import geography

    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    b = geography.buurten()
    by_size = list(b.groupby("gemeentecode").size().sort_values(kind="stable").index)
    codes = sorted(by_size) if args.all else sorted(sample_of(by_size, args.sample))
    synth = synthesize_all(work, sorted(by_size) if args.synth_only else codes, args.scale)
    print(f"sources of {len(synth['manifests'])} gemeenten ready ({synth['seconds']} s)", flush=True)
    if args.synth_only:
        return
    tag = f"{'all' if args.all else args.sample}"
    region_file = work / f"region-{tag}.yaml"
    region_file.write_text(
        f"region: bench-{tag}\ncollect_dir: collected-{tag}\nconcurrency: {args.concurrency}\nretries: 1\n"
        f"retry_delay_seconds: 30\ntimeout_minutes: 600\npool: bench-central\nschedule: null\ngemeenten:\n" + "".join(
            f"  - {{gemeente: {c}, settings: gemeenten/{c}/gemeente.yaml, pool: bench}}\n" for c in codes),
        encoding="utf-8")
    for c in codes:  # each run measured on its own: no earlier benchmark release of the period
        shutil.rmtree(work / "gemeenten" / c / "work", ignore_errors=True)
    shutil.rmtree(work / f"collected-{tag}", ignore_errors=True)
    home = work / "prefect"
    shutil.rmtree(home, ignore_errors=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    tree = Tree()
    procs = []
    try:
        import httpx

        t0 = time.perf_counter()
        server = start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                       env(PREFECT_HOME=str(home)), work / "server.log")
        procs.append(server)
        tree.roots.add(server.pid)
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                sys.exit(f"server exited; see {work / 'server.log'}")
            time.sleep(0.2)
        server_start = time.perf_counter() - t0
        print(f"server up in {server_start:.1f} s", flush=True)
        client_env = env(PREFECT_API_URL=url, PREFECT_HOME=str(work / "client-home"))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines.cli", "deploy", "--region", str(region_file)],
                       env=client_env, check=True, stdout=subprocess.DEVNULL)
        deploy_seconds = time.perf_counter() - t0
        for i in range(args.workers):
            w = start([PREFECT, "worker", "start", "--pool", "bench", "--type", "process", "--limit", str(args.limit),
                       "--name", f"bench-worker-{i}"],
                      env(PREFECT_API_URL=url, PREFECT_HOME=str(work / f"worker-home-{i}"),
                          PREFECT_WORKER_QUERY_SECONDS=str(args.query_seconds)), work / f"worker-{i}.log")
            procs.append(w)
            tree.roots.add(w.pid)
        time.sleep(3)
        tree.peak = 0
        t0 = time.perf_counter()
        region = start([sys.executable, "-m", "pipelines.cli", "region", "--region", str(region_file), "--period",
                        PERIOD], client_env, work / f"region-{tag}.log")
        tree.roots.add(region.pid)
        last = 0.0
        while region.poll() is None:
            time.sleep(1)
            if time.perf_counter() - last > 60:
                last = time.perf_counter()
                done = len(list((work / f"collected-{tag}" / PERIOD).glob("GM*"))) if (
                    work / f"collected-{tag}" / PERIOD).exists() else 0
                print(f"  {time.perf_counter() - t0:7.0f} s: {done} of {len(codes)} collected, memory now "
                      f"{tree.measure()[0] / 1e9:.2f} GB, peak {tree.peak / 1e9:.2f} GB", flush=True)
        wall = time.perf_counter() - t0
        region_exit = region.returncode
        runs = flow_run_times(url, {f"{c}-{PERIOD}" for c in codes})
    finally:
        tree.stop()
        for p in reversed(procs):
            stop(p)

    from datetime import datetime

    def ts(x):
        return datetime.fromisoformat(x.replace("Z", "+00:00")) if x else None

    per = []
    for r in runs:
        created, started = ts(r["created"]), ts(r["start_time"])
        per.append({"name": r["name"], "state": r["state"]["type"], "message": r["state"]["message"],
                    "run_seconds": round(r["total_run_time"], 1),
                    "waiting_seconds": round((started - created).total_seconds(), 1) if started else None,
                    "households": synth["manifests"][r["name"][:6]]["households"]})
    completed = [p for p in per if p["state"] == "COMPLETED"]
    run_total = sum(p["run_seconds"] for p in per)
    result = {
        "gemeenten": len(codes), "published": len(completed), "failed": len(per) - len(completed),
        "region_exit": region_exit, "households": sum(synth["manifests"][c]["households"] for c in codes),
        "server_start_seconds": round(server_start, 1), "deploy_seconds": round(deploy_seconds, 1),
        "wall_seconds": round(wall, 1), "gemeenten_per_hour": round(len(completed) / wall * 3600, 1),
        "flow_run_seconds_sum": round(run_total, 1),
        "flow_run_seconds_mean": round(run_total / max(len(per), 1), 1),
        "flow_run_seconds_max": max((p["run_seconds"] for p in per), default=None),
        "peak_rss_gb": round(tree.peak / 1e9, 2), "peak_processes": tree.peak_processes,
        "workers": args.workers, "limit": args.limit, "concurrency": args.concurrency,
        "query_seconds": args.query_seconds, "cpus": os.cpu_count(), "nice": os.nice(0), "runs": sorted(
            per, key=lambda p: p["name"]),
    }
    (work / f"bench-region-{tag}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for k, v in result.items():
        if k != "runs":
            print(f"{k:<24} {v}")
    slowest = sorted(per, key=lambda p: -p["run_seconds"])[:5]
    print("slowest:", ", ".join(f"{p['name']} {p['run_seconds']} s ({p['households']:,} households)" for p in slowest))
    failed = [p for p in per if p["state"] != "COMPLETED"]
    for p in failed:
        print(f"failed: {p['name']}: {p['message']}")


if __name__ == "__main__":
    main()
