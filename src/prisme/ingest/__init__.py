"""Feed: read the sources of ``prisme.toml`` and load them, batch by batch, into the warehouse."""

from prisme.ingest.load import LoadResult, ingest

__all__ = ["LoadResult", "ingest"]
