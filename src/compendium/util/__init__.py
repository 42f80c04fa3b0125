"""Layer 0: what every other layer uses (atomic files, the cache, the one error type)."""
