"""Layer 3: the activation store (HDF5 writer and readers) and recording with hooks."""
