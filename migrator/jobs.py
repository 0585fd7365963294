"""Where scans run: a thread pool inside the service (the default: no other server needed), or
Celery workers over Redis (MIGRATOR_JOBS=celery), so several machines share one estate."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Mapping

log = logging.getLogger(__name__)

SCAN_TASK = "migrator.scan"


class JobRunner:
    """A small thread pool created on first use, so building an app starts no thread."""

    scan_runner = None          # scans.create_scan: this process runs the scans it queues

    def __init__(self, max_workers: int = 2):
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, func: Callable[..., Any], *args: Any) -> Future:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="job")
        future = self._pool.submit(func, *args)
        future.add_done_callback(_log_failure)
        return future

    def start_scan(self, db, settings: Mapping[str, Any], scan_id: int) -> None:
        from migrator.services.scans import run_scan
        self.submit(run_scan, db, dict(settings), scan_id)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait)
                self._pool = None


class CeleryJobs:
    """Scans handed to Celery workers (`migrator worker`); only the scan id travels."""

    scan_runner = "celery"      # a worker writes its own id when it starts the scan

    def __init__(self, broker_url: str):
        from migrator.tasks import celery_app
        self.app = celery_app(broker_url)

    def start_scan(self, db, settings: Mapping[str, Any], scan_id: int) -> None:
        self.app.send_task(SCAN_TASK, args=[scan_id])

    def shutdown(self, wait: bool = True) -> None:
        self.app.close()


def make_runner(settings: Mapping[str, Any]) -> JobRunner | CeleryJobs:
    if settings["JOBS"] == "celery":
        return CeleryJobs(settings["CELERY_BROKER_URL"])
    return JobRunner()


def _log_failure(future: Future) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("background job failed: %s: %s", type(exc).__name__, exc)
