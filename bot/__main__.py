"""`python -m bot` serves; `python -m bot check` validates the configuration and each API once."""

from __future__ import annotations

import asyncio
import sys

from bot.config import ConfigError, load_settings
from bot.logs import configure_logging

USAGE = "usage: python -m bot [check]"


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv and argv[0] != "check":
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    configure_logging(settings.log_level, settings.secrets)
    if argv:
        from bot.check import run_checks

        return asyncio.run(run_checks(settings))
    from bot.app import BotServer

    asyncio.run(BotServer(settings).serve_forever())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
