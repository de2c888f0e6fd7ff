"""The names Slack routes by: the slash command, the shortcut's callback id (also in
`manifest.yml`) and the action ids of every button this app renders. The renderers put them on
the buttons and the listeners match them, so both read them from here."""

from __future__ import annotations

import re

#: the slash command (`manifest.yml`)
REPLAYS_COMMAND = "/replays"

#: the message shortcut "Find replays" (`manifest.yml`)
FIND_REPLAYS_CALLBACK_ID = "find_replays"

#: "Share in channel" under a look-up's cards
SHARE_ACTION_ID = "share_replays"

#: "Watch replay" link buttons: numbered within a message, since Slack refuses duplicate ids
WATCH_ACTION_PREFIX = "watch_replay_"
WATCH_ACTION_ID = re.compile(rf"^{WATCH_ACTION_PREFIX}\d+$")

#: App Home: refresh the recent list, switch DM digests, unsubscribe (numbered, one per row)
HOME_REFRESH_ACTION_ID = "home_refresh"
HOME_DM_ACTION_ID = "home_dm"
HOME_UNSUBSCRIBE_ACTION_PREFIX = "home_unsubscribe"
HOME_UNSUBSCRIBE_ACTION_ID = re.compile(rf"^{HOME_UNSUBSCRIBE_ACTION_PREFIX}_\d+$")
