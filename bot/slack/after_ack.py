"""`AfterAck`: the one way a listener hands over what it does after acknowledging a request.

The work goes to the `InFlight` pool; its end is timed for the request's metrics
(`bot.slack.observe`); a failure is logged with its traceback and, when there is someone to tell,
answered with the generic error in their language, because an acknowledged request that then
says nothing looks ignored. The database being unavailable is no such failure: the person is told
it is temporarily unavailable, and the log has the outage's one WARNING already
(`bot.core.outage`), so each command met by it is one INFO line without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core.in_flight import InFlight
from bot.core.storage import StorageUnavailable
from bot.i18n import t
from bot.metrics import Metrics
from bot.slack.answers import Reply
from bot.slack.caller import Caller, IncomingCaller
from bot.slack.observe import note_answered
from bot.slack.render.messages import render_text

log = logging.getLogger(__name__)

#: what a listener does after its ack: the reply to the (completed) caller
Answer = Callable[[Caller], Awaitable[Reply]]
#: how a listener sends a reply (its `response_url`, a thread, ...)
Send = Callable[[Reply], Awaitable[object]]


class AfterAck:
    def __init__(self, in_flight: InFlight, metrics: Metrics) -> None:
        self._in_flight = in_flight
        self._metrics = metrics

    @property
    def full(self) -> bool:
        """Too much work queued already: a look-up is turned away rather than kept waiting."""
        return self._in_flight.full

    @property
    def count(self) -> int:
        return self._in_flight.count

    def answer(self, caller: IncomingCaller, work: Answer, send: Send) -> None:
        """Complete the caller (their profile), run `work` for them and `send` its reply; if
        the database is unavailable, say so in their language instead, and if anything else
        fails, send the generic error."""

        async def answer_or_apologise() -> None:
            try:
                reply = await work(await caller.complete())
            except StorageUnavailable:
                log.info("answered %s: the database is unavailable", caller.user_id)
                reply = Reply([render_text(t("storage_unavailable", caller.locale))])
            except Exception:
                log.exception("answering %s failed", caller.user_id)
                reply = Reply([render_text(t("error_generic", caller.locale))])
            await send(reply)

        self.run(answer_or_apologise)

    def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` after the ack, where nobody waits for an answer (App Home's views):
        a failure is logged, and the view stays as it was."""

        async def timed() -> None:
            try:
                await work()
            except StorageUnavailable:
                log.info("work after an acknowledgement skipped: the database is unavailable")
            except Exception:
                log.exception("work after an acknowledgement failed")
            finally:
                note_answered(self._metrics)

        self._in_flight.submit(timed)
