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
# real one comes from the environment at run time. The collected files land in $VAR_DIR/static.
RUN DEBUG=false SECRET_KEY=build-only-collectstatic-key-never-used-at-run-time \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 --user-group --home-dir /app --no-create-home tracker \
 && chown -R tracker:tracker "$VAR_DIR"

USER tracker

EXPOSE 8000

# Workers: WEB_CONCURRENCY (gunicorn's own default for --workers), 3 unless the environment says otherwise.
# The heartbeat files go to /dev/shm (memory) rather than the container's overlay file system.
CMD ["gunicorn", "tracker.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-"]
