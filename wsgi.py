"""WSGI entry point: `waitress-serve wsgi:app` (run `migrator db upgrade` first)."""
from migrator import create_app

app = create_app()
