"""Transplant-outcomes analysis: loading, endpoints, estimators matched to R, and presentation.

Statistics functions take a validated DataFrame (see `analysis.loading.load_cohort`)
and return frozen result objects (`analysis.results`); `analysis.figures` and
`analysis.tables` only format and draw them.
"""

__version__ = "0.1.0"
