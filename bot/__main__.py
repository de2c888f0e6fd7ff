"""`python -m bot` serves; `python -m bot check` validates the configuration and each API once."""

from __future__ import annotations

import asyncio
import logging
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
    if argv:
        # The check's report is its output; library chatter only when asked for with DEBUG.
        level = settings.log_level if settings.log_level == "DEBUG" else "WARNING"
        configure_logging(level, settings.secrets, json_lines=settings.log_format == "json")
        from bot.check import run_checks

        return asyncio.run(run_checks(settings))
    configure_logging(
        settings.log_level, settings.secrets, json_lines=settings.log_format == "json"
    )
    from bot.server import BotServer

    try:
        asyncio.run(BotServer(settings).serve_forever())
    except Exception:
        # Through logging rather than Python's own traceback printer, so that the secret filter
        # sees it (a database error can quote its URL).
        logging.getLogger("bot").exception("could not start or keep serving")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
