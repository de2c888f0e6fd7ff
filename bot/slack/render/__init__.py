"""Slack messages rendered from look-up results and meetings, within Slack's limits.

`messages` holds the entry points the rest of the app calls; the other modules are its parts:
`mrkdwn` (escaping and cutting text), `block_kit` (the blocks as dicts), `limits` (Slack's limits),
`cards` (what a meeting, replay or problem shows), `pages` (cards packed into messages) and `share`
(the "Share in channel" button's value).
"""
