"""The archive-listing parser: ONC's ``archivefile`` answers -> a table of files, hand-written.

Modules
-------
:mod:`~intake_onc.client.listing.columns`
    :class:`~intake_onc.client.listing.columns.StrColumn` and
    :class:`~intake_onc.client.listing.columns.RecordColumns`: a JSON list of flat records held
    column by column (numpy arrays, strings as bytes plus offsets).
:mod:`~intake_onc.client.listing.json_columns`
    :func:`~intake_onc.client.listing.json_columns.loads_with_columns`: reads the long
    ``files`` list of an answer straight from its bytes into those columns, or returns ``None``
    (the caller then uses :func:`json.loads`).
:mod:`~intake_onc.client.listing.table`
    :func:`~intake_onc.client.listing.table.files_frame` and
    :func:`~intake_onc.client.listing.table.merge_files`: the listing's pandas table
    (``filename``, ``start``, ``end``, ``size``, ...) from those columns, from ``json.loads``'s
    dicts or from bare file names, the same frame whichever way.

Why a hand-written parser
-------------------------
A year of 64 kHz hydrophone audio is one 34 MB ``archivefile`` page of about 100,000 ``files``
records. :func:`json.loads` turns it into a million Python objects and the table then takes them
apart again; on the project's 2-core benchmark machine that was most of a year's lazy open
(``benchmarks/bench_lazy_open.py``, results in ``benchmarks/RESULTS.md``, medians of 3 rounds,
warm cache, ``open_audio('ICLISTENHF6324', '2024-01-01', '2025-01-01')``):

======================  ===========  ==============
step                    ``json``     this package
======================  ===========  ==============
JSON parse              0.31-0.38 s  0.05 s
listing table           0.25-0.28 s  0.07-0.08 s
whole lazy open (warm)  0.96-1.06 s  0.36-0.47 s
======================  ===========  ==============

The parse alone is 0.29 s with :func:`json.loads` against 0.04 s when every record is as long
as the first (the usual case: the records are one ``(n, width)`` view of the body) and 0.20 s
when records differ in length (found from the positions of their quotes); the table from
columns takes 0.04 s (single run). That is 2.8x on the whole open (1.00 -> 0.36 s with
``chunk=3600``), and what brings warm opens of a year under the 1-s target.

The speed does not cost correctness: only ONC's compact regular form is read this way (same keys
in the same order, values plain ASCII strings, integers without leading zeros, or ``null``), and
every byte of the list is checked against that grammar. Anything else (whitespace, an escape,
non-ASCII text, a float, a nested value, a key out of order) gives ``None`` and goes through
:func:`json.loads`, so the answer is the :func:`json.loads` answer or nothing;
``tests/test_client_json_columns.py`` compares both paths and changes bytes of listings at random
to check it.
"""
