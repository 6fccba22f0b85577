"""Splink's errors, for the identity layer (only the engine imports ``splink.internals``)."""

from __future__ import annotations

from splink.internals.exceptions import SplinkException

#: what a Splink training session raises when its blocking rule finds no pairs, or when a
#: list is too small for a rule (the session is skipped)
SPLINK_ERRORS: tuple[type[Exception], ...] = (ValueError, SplinkException)
