"""Structured logs: one JSON object a line, from our code and every library alike.

structlog renders the standard library's records too (uvicorn, Faust, SQLAlchemy), so a log
shipper sees one shape. Context bound with `structlog.contextvars` (the request id, an
event's trace id) lands in every line logged while it is bound.
"""

from __future__ import annotations

import logging.config
from typing import Any

import structlog

SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _tagged(process: str) -> list[Any]:
    def tag(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("process", process)
        event.pop("color_message", None)  # uvicorn's copy of the message with ANSI colours
        return event

    return [*SHARED, tag]


def logging_config(process: str, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: JSON lines on stderr, tagged with `process`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _tagged(process),
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
            }
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            # Requests are logged once, with their route and request id, by our middleware.
            "uvicorn.access": {"level": "WARNING"},
            "aiokafka": {"level": "WARNING"},
            # A line per call to the payment provider (and every other HTTP client call):
            # the saga logs what it did with the charge, and failures are warnings anyway.
            "httpx": {"level": "WARNING"},
        },
    }


def configure(process: str, level: str = "INFO") -> dict[str, Any]:
    """Send every log line of this process through structlog as JSON; returns the config."""
    config = logging_config(process, level)
    structlog.configure(
        processors=[*_tagged(process), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(config)
    return config
