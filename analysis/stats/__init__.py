"""Estimators matched to R: they take arrays, return small frozen results, never print, draw or read files."""
