"""Hydrophones on the xarray side: audio files and windows, spectrograms, HSD files. No HTTP.

Where things are, from the bottom up (each module imports only those above it in this list):

* :mod:`~intake_onc.acoustics.files`: archive file names, audio file headers, reading frames;
* :mod:`~intake_onc.acoustics.hsd`: ONC's HSD spectrogram MAT files, read and written;
* :mod:`~intake_onc.acoustics.clips`: coverage, clipping and WAV/FLAC writing of a window;
* :mod:`~intake_onc.acoustics.windows`: many files assembled into one exact, lazy window
  (``open_audio_files``);
* :mod:`~intake_onc.acoustics._stft` and the optional compiled kernel ``_speedups.c``: the frame
  engine of custom spectrograms;
* :mod:`~intake_onc.acoustics.spectrogram`: custom spectrograms (numpy and dask),
  ``SpectrogramGenerator``;
* :mod:`~intake_onc.acoustics.accessor`: ``audio.onc`` on top of them.

The remote side (``open_audio``, ``open_spectrogram``) is :mod:`intake_onc.datasets.hydrophone`.
"""
