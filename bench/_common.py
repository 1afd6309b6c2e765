"""Shared plumbing of the benchmarks: a throwaway database cloned from a template,
an Odoo started with setup/run (2 HTTP workers + the queue_job runner), code run
inside Odoo in a subprocess, percentiles and peak memory. Plain python3 + requests."""

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
API = "/api/construction/v1"


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--template",
        default=os.environ.get("BENCH_TEMPLATE", "construction_demo"),
        help="database with the addons installed, cloned for the run "
        "(default construction_demo, or $BENCH_TEMPLATE)",
    )
    p.add_argument(
        "--db", help="throwaway database name (default bench_<pid>; dropped after)"
    )
    p.add_argument("--keep", action="store_true", help="keep the database")
    p.add_argument("--full", action="store_true", help="the issue's full sizes")
    return p


def percentile(values, pct):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def self_peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class Database:
    """``createdb -T template``; dropped on exit unless kept."""

    def __init__(self, args):
        self.template = args.template
        self.name = args.db or f"bench_{os.getpid()}"
        self.keep = args.keep

    def __enter__(self):
        subprocess.run(["dropdb", "--if-exists", self.name], check=True)
        subprocess.run(["createdb", "-T", self.template, self.name], check=True)
        return self

    def __exit__(self, *exc):
        if not self.keep:
            subprocess.run(["dropdb", "--if-exists", "--force", self.name], check=False)

    def sql(self, query):
        out = subprocess.run(
            ["psql", "-XAtq", "-d", self.name, "-c", query],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()


def odoo_exec(db, code, params=None, timeout=3600):
    """Run ``code`` inside Odoo as superuser on ``db`` (env in ``env``, each of
    ``params`` as a variable); the code sets ``result`` (JSON-serializable),
    returned with the process's peak memory. Commits at the end."""
    assigns = "\n".join(
        f"{name} = json.loads({json.dumps(json.dumps(value))})"
        for name, value in (params or {}).items()
    )
    script = f"""
import json, sys, time, resource
import odoo
from odoo import api, SUPERUSER_ID
from odoo.modules.registry import Registry
addons = {json.dumps(_addons_path())}
odoo.tools.config.parse_config(["-d", {db!r}, "--addons-path=" + addons,
    "--log-level=warn", "--load=base,web,queue_job"])
with Registry({db!r}).cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {{}})
    result = None
{_indent(assigns)}
{_indent(code)}
    cr.commit()
result_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("@@RESULT@@" + json.dumps({{"result": result, "peak_mb": result_peak_mb}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/tmp",
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("@@RESULT@@"):
            data = json.loads(line[len("@@RESULT@@") :])
            return data["result"], data["peak_mb"]
    raise RuntimeError(f"odoo code failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")


def _indent(code):
    return "\n".join("    " + line for line in code.strip("\n").splitlines())


def _addons_path():
    import importlib.util

    spec = importlib.util.find_spec("odoo")
    root = Path(spec.origin).resolve().parents[1]
    paths = []
    if (root / "addons" / "account").is_dir():
        paths.append(str(root / "addons"))
    paths.append(str(REPO / "addons"))
    return ",".join(paths)


def provision_backend(db, name="Bench system", map_by_code=True, rate_limit=0):
    """An external system with its integration user; returns (backend id, key)."""
    code = f"""
company = env.ref("base.main_company")
Backend = env["construction.backend"].with_context(active_test=False)
backend = Backend.create({{"name": {name!r}, "kind": "project_management",
    "company_id": company.id}})
backend.action_create_integration_user()
vals = {{}}
if "map_by_code" in backend._fields:
    vals["map_by_code"] = {map_by_code!r}
if "rate_limit" in backend._fields:
    vals["rate_limit"] = {rate_limit!r}
backend.write(vals)
result = [backend.id, backend._generate_api_key(name="bench")]
"""
    return odoo_exec(db, code)[0]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """setup/run on a free port: 2 HTTP workers and the queue_job runner."""

    def __init__(self, db, extra=()):
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = list(extra)
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()

    def __enter__(self):
        self.log = open(f"/tmp/bench_server_{self.db}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(REPO / "setup" / "run"), "--db", self.db, "--port", str(self.port)]
            + ["--log-level=warn", f"--gevent-port={free_port()}"]
            + self.extra,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        threading.Thread(target=self._sample_memory, daemon=True).start()
        return self

    def wait_ready(self, timeout=120):
        for _attempt in range(timeout * 2):
            try:
                if requests.get(f"{self.url}/web/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("the Odoo server stopped; see " + self.log.name)
            time.sleep(0.5)
        raise RuntimeError(f"the Odoo server did not answer within {timeout} s")

    def _sample_memory(self):
        while not self._stop.wait(0.5):
            self.peak_rss_mb = max(self.peak_rss_mb, group_rss_mb(self.process.pid))

    def __exit__(self, *exc):
        self._stop.set()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def group_rss_mb(pgid):
    """Resident memory of every process in a process group (Odoo master + workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pgid:  # field 5: pgrp
                continue
            total += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24: rss
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024 / 1024


def wait_until(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"not reached within {timeout} s")


def report(title, rows, ratios, peaks):
    """Print a small table, the ratios and the peak memory."""
    print(f"\n## {title}")
    for label, value in rows:
        print(f"  {label:<58} {value}")
    for label, value in ratios:
        print(f"  ratio {label:<52} {value:.2f}")
    for label, value in peaks:
        print(f"  peak memory {label:<46} {value:.0f} MB")
