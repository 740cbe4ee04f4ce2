"""Readers of import formats: each module has ``read(paths, **options) -> ImportBatch``.

``flask import --format NAME`` finds the module ``NAME`` here (any module with a ``read``
function) and passes the format's own options from the command line as keyword strings:
``--minutes-per-unit 60`` arrives as ``minutes_per_unit="60"``. A reader that does not
take an option raises TypeError, which the command shows as a usage error.
"""
