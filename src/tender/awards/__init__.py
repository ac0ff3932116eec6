"""Awards: the outcome of an opened tender, and what its suppliers may read of the opening."""
