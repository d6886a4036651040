"""`storefront`: run the whole stack, or one process of it, and the jobs beside it.

Thin command modules: `stack` (up, the processes, status), `data` (schema, demo, accounts,
imports, exports, rates), `jobs` (search, ETL, the warehouse shell). Each parses its options
and calls a function a test can call.
"""

# The stack's commands first: `up` heads the help.
from storefront.cli import stack  # noqa: I001
from storefront.cli import data, jobs
from storefront.cli.app import app

__all__ = ["app", "data", "jobs", "stack"]
