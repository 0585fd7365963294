"""The Celery side of MIGRATOR_JOBS=celery: `migrator worker` runs this app's one task, a scan,
with the worker's own MIGRATOR_* settings (the same database as the service)."""
from __future__ import annotations

from functools import lru_cache

from celery import Celery

from migrator.jobs import SCAN_TASK


@lru_cache(maxsize=4)
def celery_app(broker_url: str) -> Celery:
    app = Celery("migrator", broker=broker_url, backend=None)
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                    task_default_queue="migrator-scans", broker_connection_retry_on_startup=True)

    @app.task(name=SCAN_TASK)
    def scan(scan_id: int) -> str:
        from migrator import create_app, get_db
        from migrator.services.scans import run_scan
        flask_app = create_app()
        return run_scan(get_db(flask_app), dict(flask_app.config), scan_id)

    return app
