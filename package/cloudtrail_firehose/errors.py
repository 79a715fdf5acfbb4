"""The one error type for a failure the user can act on: its message says what failed and what to do.

Each side raises its own kind (aws/errors.py: PipelineError; splunk/errors.py: SplunkError); the
callers on top (the setup handler, the CLI, the modular inputs) show any of them as it is.
"""

from __future__ import annotations


class ActionableError(Exception):
    """A step failed; the message says what failed, why, and what to do."""
