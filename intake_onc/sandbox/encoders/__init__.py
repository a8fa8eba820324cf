"""Encoders: bytes of the sandbox's answers and files (JSON bodies, WAV/FLAC audio, spectrogram
MAT/PNG, scalardata JSON pages).

It may import reference, synthetic and observatory; never archive, products, services or
transport.
"""
