"""`make bench`: page times and query counts at 100 and 10,000 cases, throughput, JavaScript weight.

    python -m bench.run                      # everything; writes bench/results.json, prints a table
    python -m bench.run --scales 100         # one scale, no throughput (quicker, while fixing)
    python -m bench.run --profile case_detail --scales 10000   # pyinstrument of one page
    python -m bench.run --sql meeting_detail --scales 10000    # every query of one page, with its time
    python -m bench.run --page impact --scales 100,10000       # only the impact of an algorithm draft

Each scale runs in its own process (`python -m bench.run scale N`) against its
own SQLite database under bench/.data/ (never db.sqlite3 or the test database),
built by migrate + load_evidence + bench/data.py and reused while its inputs
(bench/data.py, migrations, evidence files) are unchanged. DEBUG is off, as in
production. In that process Django's test client, logged in as a board
member, requests every page: warm-up, then at least 50 timed requests (median
and p95 of the server time) and one request whose queries are counted. The
floor is /bench/ping, a trivial view behind the same middleware.

Throughput: gunicorn with two workers serves the 10,000-case database on a
random loopback port; wrk (or, without it, a small threaded Python client)
drives /bench/ping and the wizard's options step for 10 s each.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
RESULTS = ROOT / "bench" / "results.json"
SCALES = (100, 10_000)
MEETINGS, TRIALS = 500, 200
WARM_UP, TIMED, TIMED_PDF, COLD = 5, 60, 50, 20
LOAD_SECONDS = 10

# Targets of issue 6 (on a 2-core machine).
P95_MS, P95_PDF_MS = 30.0, 300.0
IMPACT_SECONDS = 60.0  # issue 12: a draft's impact over 10,000 cases, every case evaluated on its own
THROUGHPUT_RATIO = 0.30
JS_GZIP_MAX = 500 * 1024

DOUBLE_REFRACTORY = {
    "len_status": "refractory",
    "anti_cd38_status": "refractory",
    "anti_cd38_agent_last": "daratumumab",
    "prior_lines": "2",
}
PATIENT = {"frailty": "fit", "ecog": "1", "car_t_eligible": "true"}
# Six regimens compared across trials (four are comparators of synthetic trials too).
CROSS_TRIAL = "DPD,ISA-KD,KD,PVD,SVD,DKD"


def bench_env(cases: int) -> dict[str, str]:
    """Production-like settings for one scale; explicit, never inherited from the shell."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        ENV_FILE="",  # never a developer's local .env
        DATABASE_URL=f"sqlite:///{DATA / f'bench-{cases}.sqlite3'}",
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-not-used-anywhere-else-0123456789",
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        # Served over plain HTTP on loopback; production sits behind TLS.
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        PYTHONHASHSEED="0",
    )
    return env


# --- In one scale's process ------------------------------------------------------------------------------


def _inputs_fingerprint() -> str:
    """The database is rebuilt when what it is built from changes."""
    digest = hashlib.sha256()
    paths = [ROOT / "bench" / "data.py"]
    for folder in ("regimens/migrations", "cases/migrations", "regimens/evidence"):
        paths += sorted((ROOT / folder).glob("*.py")) + sorted((ROOT / folder).glob("*.yaml"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(f"{MEETINGS}/{TRIALS}".encode())
    return digest.hexdigest()


def prepare_database(cases: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from bench import data

    db = DATA / f"bench-{cases}.sqlite3"
    stamp = db.with_suffix(".stamp")
    fingerprint = _inputs_fingerprint()
    if db.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return {"built": False}
    connection.close()
    for path in (db, stamp, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_evidence", verbosity=0)
    rows = data.build(cases, meetings=MEETINGS, trials=TRIALS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as a maintained production database would have statistics
    stamp.write_text(fingerprint)
    return {"built": True, "build_seconds": round(time.perf_counter() - started, 1), "rows": rows}


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class Page:
    def __init__(self, name: str, url: str, expect: str, method: str = "get", body: Any = None) -> None:
        self.name, self.url, self.expect, self.method, self.body = name, url, expect, method, body

    def request(self, client):
        if self.method == "post":
            return client.post(self.url, data=json.dumps(self.body), content_type="application/json")
        return client.get(self.url)


def pages() -> list[Page]:
    """Every page of the issue, with a text it must show (so an error page is never timed)."""
    from django.urls import reverse

    from algorithm.links import wizard_url
    from bench.data import kind_of
    from cases.models import AgendaItem, Decision

    def wizard(facts: dict[str, str], step: int) -> str:
        return wizard_url(facts, step=step)

    # The last meeting with decisions, and the case of the first kind on its agenda (four lines, one
    # of them free text, decisions): the same kind of case at every scale.
    meeting = Decision.objects.order_by("-meeting__date").values_list("meeting_id", flat=True).first()
    items = AgendaItem.objects.filter(meeting_id=meeting).order_by("position").select_related("case")
    item = next(i for i in items if kind_of(int(i.case.code.rsplit("-", 1)[1]))[0] == 0)
    case = item.case
    return [
        Page("home", reverse("home"), "Tumour board"),
        Page("regimen_list", reverse("regimens:regimen_list"), "Syn000-d"),
        Page("regimen_detail", reverse("regimens:regimen_detail", args=["KD"]), "carfilzomib"),
        Page("trial_list", reverse("regimens:trial_list"), "KarMMa-3"),
        Page("trial_detail", reverse("regimens:trial_detail", args=["KARMMA-3"]), "13.3 months"),
        Page("compare_karmma3", f"{reverse('compare')}?regimens=IDE-CEL,STANDARD-REGIMENS&trial=KARMMA-3",
             "KarMMa-3"),
        Page("compare_cross_trial", f"{reverse('compare')}?regimens={CROSS_TRIAL}", "cross-trial"),
        Page("wizard_history", reverse("algorithm"), "Lenalidomide status"),
        Page("wizard_patient", wizard(DOUBLE_REFRACTORY, 2), "IMWG frailty"),
        Page("wizard_options", wizard({**DOUBLE_REFRACTORY, **PATIENT}, 3), "option-card"),
        Page("case_list", reverse("cases:case_list"), "MM-SYN-00000"),
        Page("case_detail", case.get_absolute_url(), case.code),
        Page("meeting_list", reverse("cases:meeting_list"), "Myeloma tumour board"),
        Page("meeting_detail", reverse("cases:meeting_detail", args=[meeting]), item.case.code),
        Page("meeting_case", reverse("cases:meeting_case", args=[meeting, item.pk]), case.code),
        Page("minutes_pdf", reverse("cases:minutes_pdf", args=[meeting]), "%PDF"),
        Page("outcomes", reverse("cases:outcomes"), "Time to next treatment"),
        Page("api_recommendations", "/api/v1/recommendations", "len_and_cd38_refractory", "post",
             DOUBLE_REFRACTORY),
    ]  # fmt: skip


def measure(client, page: Page) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from regimens.fragments import forget_all

    response = page.request(client)
    if response.status_code != 200 or page.expect.encode() not in response.content:
        raise SystemExit(f"{page.name}: {page.url} answered {response.status_code} without {page.expect!r}")
    for _ in range(WARM_UP):
        page.request(client)
    samples = []
    for _ in range(TIMED_PDF if page.name.endswith("_pdf") else TIMED):
        started = time.perf_counter()
        page.request(client)
        samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        page.request(client)
    # Cold: what the first request after a knowledge-base change costs (kept fragments dropped).
    cold = []
    for _ in range(0 if page.name.endswith("_pdf") else COLD):
        forget_all()
        started = time.perf_counter()
        page.request(client)
        cold.append((time.perf_counter() - started) * 1000)
    forget_all()
    with CaptureQueriesContext(connection) as cold_queries:
        page.request(client)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(_percentile(samples, 0.95), 2),
        "queries": len(queries),
        "cold_p50_ms": round(statistics.median(cold), 2) if cold else None,
        "cold_p95_ms": round(_percentile(cold, 0.95), 2) if cold else None,
        "cold_queries": len(cold_queries),
        "requests": len(samples),
        "bytes": len(response.content),
        "_html": response.content if response["Content-Type"].startswith("text/html") else b"",
    }


SCRIPT_SRC = re.compile(rb'<script[^>]*\ssrc="([^"]+)"')


def js_gzip_bytes(html: bytes) -> tuple[int, list[str]]:
    """The JavaScript a page loads, gzip-compressed (level 9, as WhiteNoise serves it)."""
    from django.conf import settings

    total, names = 0, []
    for src in SCRIPT_SRC.findall(html):
        path = src.decode().split("?", 1)[0]
        if not path.startswith(settings.STATIC_URL):
            raise SystemExit(f"A script from outside the static files: {path}")
        file = Path(settings.STATIC_ROOT) / path.removeprefix(settings.STATIC_URL)
        total += len(gzip.compress(file.read_bytes(), compresslevel=9))
        names.append(path.rsplit("/", 1)[-1])
    return total, names


def _client():
    from django.test import Client

    from bench.data import bench_user

    client = Client()
    client.force_login(bench_user("bench-board-member"))
    return client


def build_scale(cases: int) -> dict[str, Any]:
    import django

    django.setup()
    return prepare_database(cases)


def run_scale(cases: int, only: str | None, profile: str | None, sql: str | None) -> dict[str, Any]:
    # A fresh process that starts the app as gunicorn does (mmboard/wsgi.py: setup, then gc.freeze()).
    from mmboard import wsgi  # noqa: F401

    client = _client()
    every = pages()
    chosen = [p for p in every if p.name in {only, profile, sql} or not (only or profile or sql)]
    if only == "impact":
        return {"impact": measure_impact()}
    if profile == "impact":
        return _profile_impact()
    if profile:
        return _profile(client, chosen[0])
    if sql:
        return _sql(client, chosen[0])
    floor = measure(client, Page("floor", "/bench/ping", "pong"))
    results, js = {}, {}
    for page in chosen:
        results[page.name] = measure(client, page)
        html = results[page.name].pop("_html")
        if html:
            js[page.name] = js_gzip_bytes(html)
    heaviest = max(js, key=lambda name: js[name][0]) if js else ""
    return {
        "floor": {k: floor[k] for k in ("p50_ms", "p95_ms", "queries")},
        "pages": results,
        "impact": measure_impact() if not only else None,
        "js": {"js_bytes_gzip_max_page": js[heaviest][0] if heaviest else 0, "page": heaviest,
               "scripts": js[heaviest][1] if heaviest else []},
        "session": client.cookies["sessionid"].value,
        "options_url": next((p.url for p in every if p.name == "wizard_options"), ""),
        "sqlite": sqlite3.sqlite_version,
    }  # fmt: skip


# --- The impact of an algorithm draft ---------------------------------------------------------------------


def measure_impact() -> dict[str, Any]:
    """Seconds to run the cases through the published version and a draft, in this process (what the
    task worker does), in a transaction rolled back at the end so the database stays as built.

    - in_care: the task as the page starts it (`impact.execute`): compile both versions, find the cases
      in care, run them, store the result; cases with the same facts share an evaluation.
    - every_case: every case of the database, each evaluated on its own (no sharing): the worst case,
      against the target.
    """
    from django.db import transaction

    from algorithm import impact
    from algorithm.versions import compile_version, regimen_components
    from bench.data import build_draft
    from cases.models import Case

    out: dict[str, Any] = {}
    with transaction.atomic():
        published, draft = build_draft()
        started = time.perf_counter()
        run = impact.execute(impact.create_run(draft, published))
        out["in_care"] = {
            "cases": run.total, "changed": run.counts["changed"], "evaluations": run.counts["evaluations"],
            "seconds": round(time.perf_counter() - started, 2),
        }  # fmt: skip
        started = time.perf_counter()
        components = regimen_components()
        _, draft_rules = compile_version(draft, components)
        _, published_rules = compile_version(published, components)
        ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
        every = impact.analyse(draft_rules, published_rules, ids, impact.decisions_in_force(), share=False)
        out["every_case"] = {
            "cases": every.total, "changed": len(every.cases), "evaluations": every.evaluations,
            "seconds": round(time.perf_counter() - started, 2),
        }  # fmt: skip
        transaction.set_rollback(True)
    return out


def _profile_impact() -> dict[str, Any]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    with profiler:
        measure_impact()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return {}


def _profile(client, page: Page) -> dict[str, Any]:
    from pyinstrument import Profiler

    for _ in range(WARM_UP):
        page.request(client)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(20):
            page.request(client)
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return {}


def _sql(client, page: Page) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page.request(client)
    with CaptureQueriesContext(connection) as queries:
        page.request(client)
    for n, query in enumerate(queries.captured_queries, start=1):
        print(f"{n:3d} {float(query['time']) * 1000:7.2f} ms  {query['sql'][:400]}")
    return {}


# --- Throughput ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        response.read()
        return response.status


def _wrk(url: str, cookie: str, seconds: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", "-H", f"Cookie: {cookie}", url],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw error responses from {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {
        "rps": round(rps, 1),
        "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 2),
        "tool": "wrk",
    }


def _python_load(url: str, cookie: str, seconds: int, connections: int = 4) -> dict[str, Any]:
    """A small keep-alive load generator, used when wrk is not installed."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    counts, errors, deadline = [0] * connections, [0], time.monotonic() + seconds

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < deadline:
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors[0] += 1
            counts[slot] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors[0]:
        raise SystemExit(f"{errors[0]} error responses from {url}")
    return {"rps": round(sum(counts) / seconds, 1), "tool": "python threads (wrk not installed)"}


def throughput(cases: int, session: str, options_url: str) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cookie = f"sessionid={session}"
    log = DATA / "gunicorn.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mmboard.wsgi:application", "--workers", "2",
         "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log), "--log-level", "warning"],
        cwd=ROOT, env=bench_env(cases),
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                if _get(f"{base}/health", "") == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"gunicorn did not answer; see {log}")
        load = _wrk if shutil.which("wrk") else _python_load
        out = {}
        for name, path in (("ping", "/bench/ping"), ("options", options_url)):
            if _get(base + path, cookie) != 200:
                raise SystemExit(f"{path} did not answer 200 under gunicorn")
            load(base + path, cookie, 2)  # warm both workers
            out[name] = load(base + path, cookie, LOAD_SECONDS)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "ping_rps": out["ping"]["rps"],
        "options_rps": out["options"]["rps"],
        "ratio": round(out["options"]["rps"] / out["ping"]["rps"], 3),
        "tool": out["ping"]["tool"],
        "detail": out,
        "workers": 2,
        "seconds": LOAD_SECONDS,
    }


# --- The whole run ---------------------------------------------------------------------------------------


def collectstatic() -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT, env=bench_env(SCALES[0]), check=True,
    )  # fmt: skip


def scale_subprocess(cases: int, extra: list[str]) -> dict[str, Any]:
    """Build the scale's database if needed, then measure in a fresh process."""
    built, out = DATA / f"build-{cases}.json", DATA / f"scale-{cases}{'-partial' if extra else ''}.json"
    for command, path, more in (("build", built, []), ("scale", out, extra)):
        path.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "bench.run", command, str(cases), "--out", str(path), *more],
            cwd=ROOT, env=bench_env(cases), check=True,
        )  # fmt: skip
    result = json.loads(out.read_text()) if out.exists() else {}
    return {**result, "database": json.loads(built.read_text())}


def check_targets(results: dict[str, Any]) -> list[tuple[str, bool, str]]:
    checks = []
    large = results["scales"].get(str(SCALES[-1]))
    if large:
        for name, page in large["pages"].items():
            limit = P95_PDF_MS if name.endswith("_pdf") else P95_MS
            checks.append((f"p95 {name} ≤ {limit:g} ms", page["p95_ms"] <= limit, f"{page['p95_ms']} ms"))
    small = results["scales"].get(str(SCALES[0]))
    if small and large:
        for name, page in large["pages"].items():
            other = small["pages"].get(name, {}).get("queries")
            checks.append(
                (
                    f"queries {name} same at both scales",
                    other == page["queries"],
                    f"{other} / {page['queries']}",
                )
            )
    if large and (every := (large.get("impact") or {}).get("every_case")):
        checks.append((f"impact of a draft over {every['cases']} cases ≤ {IMPACT_SECONDS:g} s",
                       every["seconds"] <= IMPACT_SECONDS, f"{every['seconds']} s"))  # fmt: skip
    if tp := results.get("throughput"):
        checks.append((f"options ≥ {THROUGHPUT_RATIO:.0%} of ping throughput", tp["ratio"] >= THROUGHPUT_RATIO,
                       f"{tp['options_rps']} / {tp['ping_rps']} rps = {tp['ratio']:.0%}"))  # fmt: skip
    if assets := results.get("assets"):
        size = assets["js_bytes_gzip_max_page"]
        checks.append(
            (
                "heaviest page JS ≤ 500 KB gzip",
                size <= JS_GZIP_MAX,
                f"{size / 1024:.0f} KB ({assets['page']})",
            )
        )
    return checks


def print_table(results: dict[str, Any], checks: list[tuple[str, bool, str]]) -> None:
    scales = [s for s in map(str, SCALES) if s in results["scales"]]
    names = list(dict.fromkeys(n for s in scales for n in results["scales"][s]["pages"]))
    head = f"{'page':22}" + "".join(f"{f'{s} cases: p50 / p95 ms, queries':>36}" for s in scales)
    print(head)
    print("-" * len(head))
    floor = results["floor"]
    print(f"{'floor (/bench/ping)':22}{f'{floor["p50_ms"]:.2f} / {floor["p95_ms"]:.2f}':>36}")
    for name in names:
        row = f"{name:22}"
        for s in scales:
            page = results["scales"][s]["pages"].get(name)
            row += (
                f"{f'{page["p50_ms"]:.2f} / {page["p95_ms"]:.2f}   {page["queries"]:>3}':>36}"
                if page
                else " " * 36
            )
        print(row)
    largest = results["scales"][scales[-1]]["pages"]
    kept = [
        n for n in names if largest[n].get("cold_queries", largest[n]["queries"]) != largest[n]["queries"]
    ]
    if kept:
        print(f"\nkept pages, cold (the first request after a knowledge-base change), {scales[-1]} cases:")
        for name in kept:
            page = largest[name]
            print(
                f"{name:22}{f'{page["cold_p50_ms"]:.2f} / {page["cold_p95_ms"]:.2f}   {page["cold_queries"]:>3}':>36}"
            )
    impacts = [(s, results["scales"][s].get("impact")) for s in scales if results["scales"][s].get("impact")]
    if impacts:
        print(
            "\nimpact of an algorithm draft (seconds; cases run through both versions, distinct evaluations):"
        )
        for scale, found in impacts:
            for name, label in (
                ("in_care", "cases in care (the task)"),
                ("every_case", "every case, unshared"),
            ):
                m = found[name]
                print(f"{scale:>6} cases, {label:28}{m['seconds']:>8.2f} s  {m['cases']:>6} cases, "
                      f"{m['evaluations']:>6} evaluations, {m['changed']:>5} changed")  # fmt: skip
    if tp := results.get("throughput"):
        print(f"\nthroughput ({tp['tool']}, gunicorn 2 workers, {tp['seconds']} s): "
              f"ping {tp['ping_rps']} rps, options step {tp['options_rps']} rps ({tp['ratio']:.0%})")  # fmt: skip
    if assets := results.get("assets"):
        print(
            f"heaviest page JavaScript: {assets['js_bytes_gzip_max_page'] / 1024:.0f} KB gzip ({assets['page']})"
        )
    print()
    for label, ok, value in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", default="all", choices=["all", "build", "scale"])
    parser.add_argument("cases", nargs="?", type=int)
    parser.add_argument("--out")
    parser.add_argument("--scales", default=",".join(map(str, SCALES)))
    parser.add_argument("--page", help="only this page (no throughput, results.json untouched)")
    parser.add_argument("--profile", help="print a pyinstrument profile of this page")
    parser.add_argument("--sql", help="print every query of this page with its time")
    args = parser.parse_args(argv)

    if args.command in ("build", "scale"):
        if args.command == "build":
            result = build_scale(args.cases)
        else:
            result = run_scale(args.cases, args.page, args.profile, args.sql)
        if args.out and result:
            Path(args.out).write_text(json.dumps(result, indent=2))
        return 0

    started = time.perf_counter()
    DATA.mkdir(parents=True, exist_ok=True)
    collectstatic()
    scales = [int(s) for s in args.scales.split(",")]
    extra = [
        f"--{k}={v}" for k, v in (("page", args.page), ("profile", args.profile), ("sql", args.sql)) if v
    ]
    measured = {}
    for cases in scales:
        print(f"== {cases} cases", flush=True)
        measured[cases] = scale_subprocess(cases, extra)
    if args.profile or args.sql:
        return 0
    if args.page == "impact":
        print(json.dumps({cases: m.get("impact") for cases, m in measured.items()}, indent=2))
        return 0
    largest = measured[max(scales)]
    results: dict[str, Any] = {
        "floor": largest["floor"],
        "scales": {
            str(c): {k: m[k] for k in ("pages", "floor", "database", "impact") if m.get(k) is not None}
            for c, m in measured.items()
        },
    }
    if not args.page and max(scales) == SCALES[-1]:
        print("== throughput", flush=True)
        results["throughput"] = throughput(max(scales), largest["session"], largest["options_url"])
    results["assets"] = largest["js"]
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": largest["sqlite"],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    checks = check_targets(results)
    results["targets"] = {label: {"ok": ok, "value": value} for label, ok, value in checks}
    if not args.page and scales == list(SCALES):
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print()
    print_table(results, checks)
    print(f"\n{results['machine']['seconds']} s in all")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
