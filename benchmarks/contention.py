"""Measurement 7: people before digests. A burst of `meeting.end` events whose digests are all due
at once, on the default budget of 300 Tencent calls a minute, while 50 people look up meetings of
their own: how long each person waits for an answer, and whether every digest still posts, once.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.harness import Rig
from benchmarks.load import percentile
from benchmarks.scenarios import (
    ANSWER_TIMEOUT,
    Goal,
    Outcome,
    Profile,
    Table,
    answered_with_replays,
    deliver_all,
    job_states,
    max_in_window,
    ms,
)

BUDGET = 300
PEOPLE = 50
#: each person asks about a new meeting of theirs this often (on average), while the digests run
ASK_EVERY = 15.0
ANSWER_P95 = 5.0


def _meeting_of(post: dict[str, Any]) -> str | None:
    metadata = post.get("metadata")
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    if not isinstance(metadata, dict):
        return None
    return (metadata.get("event_payload") or {}).get("meeting_id")


async def people_during_digests(workdir: Path, profile: Profile) -> Outcome:
    # Long enough either way for the window to fill (digests at the budget's pace, and people)
    events = 400 if profile.quick else 1000
    asking_for = 45.0 if profile.quick else 60.0
    creators = 100
    async with Rig(
        "bot",
        workdir,
        users=creators,
        calls_per_minute=BUDGET,
        subscribe_channels=True,
        digest_delay=0.05,
    ) as rig:
        fake = rig.fake_slack
        meetings = [rig.world.new_meeting(owner=i % creators) for i in range(events)]
        began = time.monotonic()
        await deliver_all(rig, "burst", meetings, concurrency=50)
        answers: list[float] = []
        outcomes: Counter[str] = Counter()
        jitter = random.Random(11)

        async def person(number: int) -> None:
            deadline = began + asking_for
            await asyncio.sleep(jitter.uniform(0, min(ASK_EVERY, asking_for)))
            while time.monotonic() < deadline:
                asked = time.monotonic()
                reply = await rig.command(number)
                assert reply.response_url is not None
                try:
                    arrived = await fake.answered(reply.response_url, ANSWER_TIMEOUT)
                except TimeoutError:
                    outcomes["none"] += 1
                else:
                    answers.append(arrived - asked)
                    replays = answered_with_replays(fake, reply.response_url)
                    outcomes["replays" if replays else "other"] += 1
                pause = jitter.expovariate(1 / ASK_EVERY)
                if time.monotonic() + pause >= deadline:
                    return
                await asyncio.sleep(pause)

        await asyncio.gather(*(person(n) for n in range(PEOPLE)))
        asked_until = time.monotonic() - began
        states: Counter[str] = Counter()
        wait_until = time.monotonic() + 60 + 2 * 60 * events / BUDGET
        while time.monotonic() < wait_until:
            states = await job_states(rig)
            if states.get("pending", 0) == 0 and sum(states.values()) >= events:
                break
            await asyncio.sleep(0.5)
        posted = list(fake.posted)
        last_post = max((p["time"] for p in posted), default=math.nan) - began
        copies = Counter(
            (post["channel"], meeting)
            for post in posted
            if not post["is_dm"] and (meeting := _meeting_of(post)) is not None
        )
        doubled = sum(1 for count in copies.values() if count > 1)
        channel_digests = len(copies)
        calls = [call.time for call in rig.fake_tencent.calls]
        peak = max_in_window(calls)
        over_quota = sum(1 for call in rig.fake_tencent.calls if call.error_code == 190310)
    p95 = percentile(answers, 95)
    done = states.get("posted", 0)
    asked = sum(outcomes.values())
    table = Table(
        f"7. People during a digest burst ({events} `meeting.end` events due at once, "
        f"budget {BUDGET} Tencent calls/min, {PEOPLE} people each asking about a new meeting "
        f"every ~{ASK_EVERY:g} s for {asking_for:g} s)",
        [
            "look-ups",
            "answer p50 ms",
            "answer p95 ms",
            "answer max ms",
            "answered with replays",
            "digests posted",
            "channel digests (doubled)",
            "last digest after (s)",
            "Tencent calls (max in 60 s)",
            "over-quota refusals",
        ],
        [
            [
                str(asked),
                ms(percentile(answers, 50)),
                ms(p95),
                ms(max(answers, default=math.nan)),
                f"{outcomes['replays']}/{asked}",
                f"{done}/{events}",
                f"{channel_digests} ({doubled})",
                f"{last_post:.0f}",
                f"{len(calls)} ({peak})",
                str(over_quota),
            ]
        ],
        [
            f"People asked for {asked_until:.0f} s from the first event; a look-up's answer is "
            "timed from sending the command to its response_url POST. Job states at the end: "
            f"{dict(states)}.",
        ],
    )
    ok_people = p95 <= ANSWER_P95 and outcomes["replays"] == asked and asked > 0
    ok_digests = done == events and doubled == 0 and channel_digests == events
    goals = [
        Goal(
            f"7. during {events} due digests on {BUDGET} calls/min: {PEOPLE} people's look-ups "
            f"answered with replays, p95 ≤ {ANSWER_P95:g} s",
            f"p95 {ms(p95)} ms, {outcomes['replays']}/{asked} with replays",
            ok_people,
            "" if ok_people else "people wait behind digests for the Tencent budget",
        ),
        Goal(
            "7. …and every digest still posts, none twice, the budget never exceeded",
            f"{done}/{events} posted, {doubled} doubled, max {peak} calls in 60 s, "
            f"{over_quota} over quota",
            ok_digests and peak <= BUDGET and over_quota == 0,
            "" if ok_digests else "digests missing or doubled at the deadline",
        ),
    ]
    return Outcome([table], goals)
