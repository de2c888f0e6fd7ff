"""The parts of a card (`bot.slack.render.cards`) that the pager (`bot.slack.render.pages`) packs:
shared by the replay and recording renderers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.render.block_kit import BlockDict


@dataclass(slots=True)
class Item:
    """One block of a card, and what the compact overflow shows for it: a button to `url` named
    `name` when the item is something to watch (`url` is None otherwise; empty or unusable when
    its link is missing or Slack would refuse it), else the mrkdwn line `note`. `label` is what
    a screen reader says for that button: what it opens, of which meeting."""

    block: BlockDict
    url: str | None = None
    name: str = ""
    note: str = ""
    label: str = ""

    @property
    def watchable(self) -> bool:
        return self.url is not None


@dataclass(slots=True)
class Card:
    head: list[BlockDict]  # header and context; empty for a problem
    again: list[BlockDict]  # what a continuation message repeats of the head
    title: str  # mrkdwn line naming the meeting in the overflow; empty for a problem
    items: list[Item]
    fallback: str
