"""What a reader hands to a load: the rows of one file (or one database extract) as text.

Readers (``prisme.ingest.readers``) know formats; loads (``prisme.ingest.load``) know the
canonical model. Between them travels a :class:`RawInput`: every source column as a string,
named as delivered, plus ``__line`` (the line number in the file, the header being line 1),
and the lines the reader itself could not split into columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis

LINE = "__line"
#: prefix of the column a join adds: how many lines of the joined file share the line's key
JOIN_COUNT = "__join_count__"


@dataclass(frozen=True)
class Reject:
    """A line the reader could not turn into a row (ragged, undecodable)."""

    line: int
    reason: str
    raw: str = ""
    column: str | None = None


@dataclass
class RawInput:
    source: str  #: the source's name in prisme.toml
    file_name: str  #: file path, or ``postgresql://host/db#table`` for a database
    sha256: str  #: of the file's bytes (or of the extracted rows for a database)
    table: ibis.Table  #: every column as string, as delivered, plus ``__line``
    rows_read: int  #: every data row delivered, including the rejected ones
    rejects: list[Reject] = field(default_factory=list)
    #: the format actually used (given in prisme.toml, or sniffed): decimal, thousands,
    #: date_format, encoding, separator
    fmt: dict = field(default_factory=dict)
    #: highest watermark value in this extract (database sources)
    watermark: str | None = None
    #: joined files (see :mod:`prisme.ingest.joins`): (name, file, keys, count column, optional)
    joins: list = field(default_factory=list)
    #: sha256 of the joined files, by join name (part of what the mapping of the load was)
    join_sha256: dict = field(default_factory=dict)
