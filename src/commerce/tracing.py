"""The trace id of what is being handled now (an API request, a worker's event).

Set at the edge (the API's request middleware, the worker around each event); `add_event`
copies it into the envelopes the work causes, so one id follows a request into the worker.
"""

from __future__ import annotations

from contextvars import ContextVar

current_trace_id: ContextVar[str | None] = ContextVar("current_trace_id", default=None)
