"""Send a script's logging and uncaught errors to the rule's log file."""

import logging
import sys


def setup(log_path: str) -> logging.Logger:
    logging.basicConfig(
        filename=log_path, filemode="w", level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logger = logging.getLogger("trialmeta")

    def log_uncaught(kind, value, trace):
        logger.error("uncaught error", exc_info=(kind, value, trace))
        sys.__excepthook__(kind, value, trace)

    sys.excepthook = log_uncaught
    return logger
