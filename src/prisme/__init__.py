"""Prisme: an open-source analytical CRM (Feed → Store → Deliver). See DESIGN.md."""

__version__ = "0.1.0"
