"""disclosure stage."""
