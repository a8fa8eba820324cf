"""The shared bottom layer: time and durations, QAQC flags, atomic files, small table helpers.

Nothing here imports the rest of the package or does any HTTP, so every other layer (the client,
the scalar and acoustics domains, the datasets, and the sandbox on the other side of the wire) can
build on it and agree on how a date is parsed, what a flag means and how a file is written.
"""
