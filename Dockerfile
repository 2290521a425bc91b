# One image for web, worker and beat; docker-compose.yml picks each one's command.
# Configuration comes from the environment at run time only (DATABASE_URL, REDIS_URL, EMAIL_URL, SECRET_KEY, ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    WEB_CONCURRENCY=3

WORKDIR /app

# WeasyPrint (PDF reports) needs Pango and HarfBuzz; the PDFs and charts embed the Nanum fonts (scripts/install-system.sh).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-nanum \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, so that a code change does not reinstall them. The lock includes the dev tools
# (pytest, ruff, ...): they let the image run the test suite too.
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock

# The code stays owned by root (read-only to the app); only VAR_DIR is the app user's.
COPY . .

# collectstatic loads the settings, which refuse to start without SECRET_KEY when DEBUG is off (and DEBUG
# must be off for the hashed, compressed static files). This key exists only for this one command; the
# real one comes from the environment at run time. The collected files land in $VAR_DIR/static; matplotlib's
# font list is built once here, in $VAR_DIR/matplotlib where the charts look for it (projects/charts.py).
RUN DEBUG=false SECRET_KEY=build-only-collectstatic-key-never-used-at-run-time \
    python manage.py collectstatic --noinput \
 && MPLCONFIGDIR="$VAR_DIR/matplotlib" python -c "import matplotlib.font_manager" \
 && useradd --system --uid 1000 --user-group --home-dir /app --no-create-home tracker \
 && chown -R tracker:tracker "$VAR_DIR"

USER tracker

EXPOSE 8000

# gunicorn, chosen for this app (see docs/decisions.md, "Performance at national scale"):
# - gthread workers: a request runs in a thread while the worker's main loop keeps telling the arbiter it is
#   alive, so a long CSV download (streamed) or an XLSX export of every milestone is never killed as a
#   "WORKER TIMEOUT" the way a sync worker busy with one request for 30 s is.
# - WEB_CONCURRENCY processes (3 by default: 2 cores + 1) × 4 threads: pages wait on PostgreSQL most of the
#   time, so threads serve them well; more processes use more memory than the 2-core hosts have to spare.
# - --timeout 120: only a worker whose main loop is stuck (not a slow request) is restarted.
# - --graceful-timeout 60: a deploy lets a running export finish before the old worker is stopped.
# - --max-requests 1000 (±100 jitter): workers are recycled now and then, so memory that an export or an
#   import's preview held cannot pile up; the jitter keeps them from restarting all at once.
# The heartbeat files go to /dev/shm (memory) rather than the container's overlay file system.
CMD ["gunicorn", "tracker.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", \
     "--threads", "4", \
     "--timeout", "120", \
     "--graceful-timeout", "60", \
     "--max-requests", "1000", \
     "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-"]
