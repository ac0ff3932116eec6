"""Committee opening: a tender's key split k of n among its opening committee's members."""
