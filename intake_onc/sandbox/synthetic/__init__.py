"""Synthetic generators: deterministic scalar records, hydrophone audio and its spectra, each a
pure function of ``(seed, device, time)``.

It may import observatory only.
"""
