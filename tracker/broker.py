"""kombu's Redis transport with one fix, so that a worker survives a Redis restart while it runs a task.

The fault (celery 5.7 / kombu 5.7, reproduced in tests/reliability/test_outages.py): when the broker connection
drops, the consumer first *collects* the old connection, which detaches it from its transport
(``connection.client = None``), and then closes it. Closing a channel that still has a delivered, unacknowledged
message (the running task: acks are late) tries to hand that message back to Redis, which needs the connection's
address, now ``None``: ``AttributeError: 'NoneType' object has no attribute 'hostname'``. That is not one of the
connection errors the consumer ignores while it reconnects, so the worker logs "Unrecoverable error" and exits
as soon as its task ends. Idle workers have nothing unacknowledged and survive, which is why it looked random.

Here a channel whose connection was detached says so with the transport's own connection error, which the
consumer ignores and then reconnects. The unacknowledged message stays where Redis has it (lost with a Redis
that kept nothing; re-delivered after the visibility timeout by one that persisted it), so the restart costs
at most one repeated task; the outbox rows make a repeated dispatch harmless.
"""

from __future__ import annotations

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was closed (Redis restarted?)")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
