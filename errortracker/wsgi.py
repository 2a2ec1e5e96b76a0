import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "errortracker.settings")

from tracking.ingest.wsgi import with_ingest_fast_path

# /api/ (ingestion) skips the site middleware: see tracking/ingest/wsgi.py.
application = with_ingest_fast_path(get_wsgi_application())
