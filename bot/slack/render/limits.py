"""Slack's limits on what a message may hold, in one place so every renderer counts the same way.

Slack refuses a whole message (`invalid_blocks`) when one of these is exceeded, so the renderers
cut text and split messages to stay within them; `tests.fakes.block_kit` checks them from Slack's
documentation, independently of these constants.
"""

from __future__ import annotations

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACTIONS_ELEMENTS = 25
# The app's own cap on a message's fallback `text`, far below Slack's 40,000 characters.
MAX_FALLBACK_TEXT = 3000
