"""Additions to moto that the embedded AWS needs to run the functions' real code paths."""
