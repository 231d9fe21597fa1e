"""One log format for the long-running commands (worker, deliver)."""

from __future__ import annotations

import logging

from streams.settings import LOG_LEVELS, Settings


def configure(settings: Settings) -> None:
    logging.basicConfig(
        level=LOG_LEVELS[settings.log_level],
        format="[%(asctime)s] [%(process)d] [%(levelname)s] [%(threadName)s] %(message)s",
    )
