# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/app/var

WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock

COPY . .
# collectstatic needs the settings to load; this key exists only for this build step.
RUN DEBUG=false SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 --home /app tracker \
 && mkdir -p /app/var \
 && chown -R tracker /app/var

USER tracker
EXPOSE 8000
CMD ["gunicorn", "tracker.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
