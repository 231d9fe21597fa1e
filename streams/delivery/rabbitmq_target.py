"""A RabbitMQ subscription's target: one persistent message per hook, to a queue or to an exchange
with routing key ``<list_id>.<event_type>``, with publisher confirms.

The deliverer's thread is synchronous, so the target keeps an asyncio loop of its own for
aio-pika. A batch counts as delivered only when the broker has confirmed every message of it;
any failure (broker down, connection lost, a nack, a message no queue is bound for) closes the
connection and the batch is tried again whole on a new one, which is how a broker restart is
survived. Messages carry the hook id as ``message_id`` so consumers can drop the duplicates that
a retried batch may bring."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aio_pika
from pamqp.commands import Basic

from streams.delivery.policy import OK, RETRY, Attempt
from streams.delivery.subscriptions import RabbitSubscription


class RabbitTarget:
    def __init__(self, sub: RabbitSubscription) -> None:
        self.sub = sub
        self.loop = asyncio.new_event_loop()
        self.connection: aio_pika.abc.AbstractConnection | None = None
        self.exchange: aio_pika.abc.AbstractExchange | None = None

    def send(self, hooks: list[dict[str, Any]]) -> Attempt:
        started = time.monotonic()
        try:
            self.loop.run_until_complete(
                asyncio.wait_for(self._publish(hooks), self.sub.timeout_s + 5))
        except Exception as exc:  # every failure is retried on a new connection
            self.close_connection()
            return Attempt(RETRY, f"{type(exc).__name__}: {exc}".strip())
        return Attempt(OK, f"{len(hooks)} confirmed",
                       latency_ms=round((time.monotonic() - started) * 1000, 1))

    async def _publish(self, hooks: list[dict[str, Any]]) -> None:
        exchange = await self._exchange()
        publishes = [exchange.publish(
            aio_pika.Message(json.dumps(hook).encode(), content_type="application/json",
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                             message_id=hook["hook_id"], type=hook["event_type"]),
            routing_key=self.sub.routing_key(hook), mandatory=True, timeout=self.sub.timeout_s)
            for hook in hooks]
        # One channel sends in the order published, so order per profile holds; the confirms
        # are awaited together rather than one round trip per message.
        for result in await asyncio.gather(*publishes):
            if not isinstance(result, Basic.Ack):
                raise RuntimeError(f"the broker did not confirm a message: {result!r}")

    async def _exchange(self) -> aio_pika.abc.AbstractExchange:
        if self.exchange is None:
            self.connection = await aio_pika.connect(self.sub.url, timeout=self.sub.timeout_s)
            channel = await self.connection.channel(publisher_confirms=True,
                                                    on_return_raises=True)
            if self.sub.queue:
                await channel.declare_queue(self.sub.queue, durable=True)
                self.exchange = channel.default_exchange
            else:
                self.exchange = await channel.declare_exchange(
                    self.sub.exchange, self.sub.exchange_type, durable=True)
        return self.exchange

    def close_connection(self) -> None:
        connection, self.connection, self.exchange = self.connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing more to release
                self.loop.run_until_complete(asyncio.wait_for(connection.close(), 5))

    def close(self) -> None:
        self.close_connection()
        self.loop.close()

