"""The demo company: ``generate`` writes a synthetic retailer's source files, ``prisme.toml``
and ``truth/`` (see :mod:`prisme.demo.generate`)."""

from prisme.demo.generate import DEFAULT_TODAY, DemoManifest, generate

__all__ = ["DEFAULT_TODAY", "DemoManifest", "generate"]
