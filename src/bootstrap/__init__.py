"""The composition root: settings, the wiring of adapters from them, and the probes of the
services they name. Below `api` and the CLI, so no import runs back up."""
