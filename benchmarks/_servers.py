"""The loopback Slack and SMTP stand-ins in a process of their own, for benchmarks.

Running them apart keeps their CPU out of the measured process, as real servers
would be; the parent reads the two ports from the pipe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.connection import Connection

from tests.servers import SlackStandIn, SmtpStandIn


async def _serve(conn: Connection) -> None:
    async with SlackStandIn() as slack, SmtpStandIn() as smtp:
        conn.send((slack.base_url, smtp.port))
        while True:
            if conn.poll():
                conn.recv()
                conn.send((len(slack.posted()), len(smtp.messages)))
                if conn.recv() == "stop":
                    return
            await asyncio.sleep(0.05)


def _main(conn: Connection) -> None:
    asyncio.run(_serve(conn))


class Servers:
    """``with Servers() as s:`` gives ``s.slack_url`` and ``s.smtp_port``."""

    def __enter__(self) -> Servers:
        self._conn, child = multiprocessing.Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(target=_main, args=(child,))
        self._proc.start()
        self.slack_url, self.smtp_port = self._conn.recv()
        return self

    def counts(self) -> tuple[int, int]:
        """(Slack messages posted, e-mails received) so far."""
        self._conn.send("count")
        result = self._conn.recv()
        self._conn.send("go on")
        return result

    def __exit__(self, *exc: object) -> None:
        self._conn.send("count")
        self._conn.recv()
        self._conn.send("stop")
        self._proc.join(10)
