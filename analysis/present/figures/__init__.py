"""Figures drawn from result objects."""
