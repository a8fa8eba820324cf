"""Reference rules: the sandbox's independent implementation of ONC's scalar-data rules
(QC cleaning, gap filling/removal, resampling) and the series pipeline built on them.

This is the oracle the package's own readers are tested against. It may import synthetic and
observatory only.
"""
