"""Who reads a message, as the renderers need to know it to keep a recording's password private.

A message is `private` when one person alone reads it and the rules allowed them to see the
meeting: an ephemeral answer, a DM. Channel posts, the card shared in a channel, digests to
channels and unfurls are not. `creator`: that reader created the meeting (a look-up whose
`LookupResult.owner` is None was the asker's own; a digest DM goes to the creator).

What follows from it, and only here:
- the password of a shared recording is shown only to the creator in a private message; every
  other reader, even privately, is told "password protected";
- a recording whose sharing is off: the creator, privately, is told so and how to turn it on, and
  gets Tencent's player page when one was fetched; everyone else hears that the creator has not
  shared it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads a message (see the module). The default is the safest: anyone in a channel."""

    private: bool = False
    creator: bool = False

    @property
    def sees_password(self) -> bool:
        return self.private and self.creator

    @property
    def manages_sharing(self) -> bool:
        """Whether the message may tell how to turn sharing on and link the player page."""
        return self.private and self.creator


#: a message anyone in a channel may read
CHANNEL = Reader()
#: the creator's own private message (their ephemeral answer, their DM)
CREATOR_PRIVATELY = Reader(private=True, creator=True)
