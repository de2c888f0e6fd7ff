"""The cloud-recordings queries (`GET /v1/records`, `GET /v1/addresses/{record_file_id}`): their
parameters, the window and the paging, apart from the client that signs and budgets each call.

A meeting's recordings are asked over the last 31 days, the longest window Tencent accepts (a
meeting code names another meeting 30 days after its scheduled start anyway), in pages of 20,
followed while Tencent says more are left and at most `MAX_RECORD_PAGES` pages (each is one
budgeted call: a meeting with more than 100 recordings is not something a card can show).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.core.sources import Recorded
from bot.meeting.recording_models import RecordMeeting, RecordsPage, recorded_meetings
from bot.meeting.signing import QueryValue

log = logging.getLogger(__name__)

#: the longest window `GET /v1/records` accepts
RECORDS_SPAN = timedelta(days=31)
#: Tencent's largest page of recordings
RECORDS_PAGE_SIZE = 20
#: pages read at most for one meeting
MAX_RECORD_PAGES = 5
OPERATOR_ID_TYPE_USERID = 1

Params = list[tuple[str, QueryValue]]
#: one budgeted, signed call for one page, given its query parameters
PageReader = Callable[[Params], Awaitable[RecordsPage]]


def operator(userid: str) -> Params:
    """The operator parameters of both recordings queries: always the userid asked for."""
    return [("operator_id", userid), ("operator_id_type", OPERATOR_ID_TYPE_USERID)]


def window(now: float) -> Params:
    """[now - 31 days, now] in whole Unix seconds."""
    end = math.floor(now)
    return [("start_time", end - int(RECORDS_SPAN.total_seconds())), ("end_time", end)]


async def read_records(
    read_page: PageReader, meeting: tuple[str, str], *, userid: str, now: float
) -> list[Recorded]:
    """Every recording of `meeting` (("meeting_id" or "meeting_code", value)) in the window,
    grouped by meeting, page after page while more are left."""
    base = [*operator(userid), meeting, *window(now)]
    entries: list[RecordMeeting] = []
    seen: set[str] = set()
    for page_number in range(1, MAX_RECORD_PAGES + 1):
        page = await read_page([*base, ("page_size", RECORDS_PAGE_SIZE), ("page", page_number)])
        new = [
            e
            for e in page.record_meetings
            if not e.meeting_record_id or e.meeting_record_id not in seen
        ]
        seen.update(e.meeting_record_id for e in new if e.meeting_record_id)
        entries += new
        last = page.is_last(
            page_number, received=len(page.record_meetings), page_size=RECORDS_PAGE_SIZE
        )
        # A repeated page means the server ignores `page`: stop rather than loop.
        if last or not new:
            break
    else:
        log.info("recordings of %s %s: stopped after %d pages", *meeting, MAX_RECORD_PAGES)
    return recorded_meetings(entries)
