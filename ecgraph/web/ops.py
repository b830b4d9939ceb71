"""Operations: ``/health`` for liveness checks and ``/metrics`` for Prometheus."""

from __future__ import annotations

import os
import time

from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ecgraph import logs, sandbox
from ecgraph.web.common import node

bp = Blueprint("ops", __name__)


class Metrics:
    """One registry per app (the factory may build many apps in one process)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("ecgraph_http_requests_total", "HTTP requests answered",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.latency = Histogram("ecgraph_http_request_duration_seconds", "Time to answer a request",
                                 ["endpoint"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.errors = Counter("ecgraph_errors_total", "Failures answered to clients, by kind",
                              ["error", "status"], registry=self.registry)
        self.query_timeouts = Counter("ecgraph_query_timeouts_total", "Queries stopped at their time limit",
                                      registry=self.registry)
        self.worker_deaths = Gauge("ecgraph_worker_deaths", "Worker processes that died and were replaced",
                                   ["pool"], registry=self.registry)
        self.worker_timeouts = Gauge("ecgraph_worker_timeouts", "Requests stopped at their time limit",
                                     ["pool"], registry=self.registry)
        self.worker_memory_kills = Gauge("ecgraph_worker_memory_kills",
                                         "Requests stopped at the worker memory ceiling", ["pool"],
                                         registry=self.registry)
        # the node's own process: CPU seconds, resident and virtual memory, open and maximum files
        ProcessCollector(registry=self.registry)
        self.worker_memory = Gauge("ecgraph_worker_resident_memory_bytes", "Resident memory of a pool's worker "
                                   "processes, summed", ["pool"], registry=self.registry)
        self.worker_open_files = Gauge("ecgraph_worker_open_fds", "Open files of a pool's worker processes, summed",
                                       ["pool"], registry=self.registry)
        self.twins = Gauge("ecgraph_twins", "Twins with published data", registry=self.registry)
        self.registered = Gauge("ecgraph_registered_twins", "Registered twins", registry=self.registry)
        self.triples = Gauge("ecgraph_triples", "Triples published by twins", registry=self.registry)
        self.inferred = Gauge("ecgraph_inferred_triples", "Triples inferred for twins", registry=self.registry)
        self.answer_cache = Gauge("ecgraph_answer_cache", "The answer cache: hits, misses, bytes held",
                                  ["figure"], registry=self.registry)


def count_error(error) -> None:
    """Count a failure answered to a client (and the queries stopped at their time limit)."""
    metrics = current_app.extensions.get("ecgraph.metrics")
    if metrics is None:
        return
    metrics.errors.labels(error.title, str(error.status)).inc()
    if error.title == "query timeout":
        metrics.query_timeouts.inc()


def install(app) -> Metrics:
    metrics = Metrics()
    app.extensions["ecgraph.metrics"] = metrics

    @app.before_request
    def _start():
        g.ecgraph_started = request.environ.get(STARTED) or time.perf_counter()

    @app.after_request
    def _count(response):
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        environ = request.environ
        started = g.get("ecgraph_started")
        status, size, path = response.status_code, response.calculate_content_length(), request.path
        response.call_on_close(lambda: record(metrics, environ, endpoint, path, status, size, started))
        return response

    return metrics


#: where a request's start is kept in its WSGI environ when something before the app took it
#: (:class:`ecgraph.web.sparql.PlainQueries`)
STARTED = "ecgraph.started"


def record(metrics: Metrics, environ: dict, endpoint: str, path: str, status: int, size: int | None,
           started: float | None) -> None:
    """Count one answered request and write its access-log line. Called once the answer is sent
    (when the server closes its body): the client does not wait for the log line."""
    method = environ.get("REQUEST_METHOD", "")
    metrics.requests.labels(endpoint, method, str(status)).inc()
    if started is None:
        return
    metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
    logs.access(client=environ.get("REMOTE_ADDR") or "", method=method, path=path,
                query=environ.get("QUERY_STRING", ""), status=status, size=size, started=started,
                agent=environ.get("HTTP_USER_AGENT", ""))


@bp.get("/health")
def health():
    n = node()
    status = {"status": "ok", "stats": n.stats()}
    workers = {}
    for name, pool in n.pools().items():
        workers[name] = {"alive": len(pool.pids()), "size": pool.size,
                         "network": "open" if not pool.isolate_network else sandbox.describe(pool.isolation)}
        if not pool.started:  # an on-demand pool before its first request: nothing is missing
            workers[name]["started"] = False
    status["workers"] = workers
    status["answer_cache"] = n.answers.stats()
    healthy = all(w["alive"] > 0 or w.get("started") is False for w in workers.values())
    if not healthy:
        status["status"] = "degraded"
    out = jsonify(status)
    out.status_code = 200 if healthy else 503
    return out


@bp.get("/metrics")
def metrics():
    n = node()
    m: Metrics = current_app.extensions["ecgraph.metrics"]
    stats = n.stats()
    m.twins.set(stats["twins"])
    m.registered.set(stats["registered"])
    m.triples.set(stats["triples"])
    m.inferred.set(stats["inferred_triples"])
    for figure, value in n.answers.stats().items():
        m.answer_cache.labels(figure).set(value)
    for name, pool in n.pools().items():
        m.worker_deaths.labels(name).set(pool.deaths)
        m.worker_timeouts.labels(name).set(pool.timeouts)
        m.worker_memory_kills.labels(name).set(pool.memory_kills)
        memory, files = _processes(pool.pids())
        m.worker_memory.labels(name).set(memory)
        m.worker_open_files.labels(name).set(files)
    return Response(generate_latest(m.registry), content_type=CONTENT_TYPE_LATEST)


def _processes(pids) -> tuple[int, int]:
    """Resident bytes and open files of processes, summed, from /proc (0 where there is none)."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    memory = files = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                memory += int(fh.read().split()[1]) * page
            files += len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, ValueError, IndexError):  # gone meanwhile, or no /proc
            continue
    return memory, files
