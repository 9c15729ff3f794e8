"""catalogue stage."""
