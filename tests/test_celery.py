from __future__ import annotations

import os
import subprocess
import sys
import uuid

from django.conf import settings

from tracker.celery import app


def test_celery_speaks_json_only_acks_late_and_keeps_utc():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.timezone == "UTC"
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit


def test_a_message_goes_through_the_configured_redis_broker(redis_url):
    assert app.conf.broker_url == redis_url
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit
    queue_name = f"test-{uuid.uuid4().hex}"
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue(queue_name)
        try:
            queue.put({"hello": "부산"})
            message = queue.get(timeout=5)
            assert message.payload == {"hello": "부산"}
            message.ack()
        finally:
            queue.queue.delete()
            queue.close()


def test_without_redis_url_messages_go_through_files_under_var(tmp_path):
    # The broker is configured by the settings module alone: no django.setup(), which costs five times as much.
    script = (
        "from tracker.celery import app;"
        "c = app.connection_for_write(); q = c.SimpleQueue('probe');"
        "q.put({'n': 1}); m = q.get(timeout=5); m.ack(); print(app.conf.broker_url, m.payload)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(DEBUG="true", VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["filesystem://", "{'n':", "1}"]
    assert (tmp_path / "broker" / "queue").is_dir()
