"""An SMTP sink for the real-node tests: aiosmtpd's controller on an address the node's pods reach
(its bridge gateway), keeping every message it is handed."""

from __future__ import annotations

import email
import email.message
import email.policy
import threading
import time
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._sink.lock:
            self._sink.messages.append(message)
        return "250 OK"


class MailSink:
    def __init__(self, *, hostname: str, port: int) -> None:
        self.port = port
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self._controller = Controller(_Keep(self), hostname=hostname, port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 30) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.2)
        raise AssertionError(f"the sink got {len(self.messages)} messages in {timeout}s, not {count}")
