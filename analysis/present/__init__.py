"""Presentation: numbers as text, figures, tables, sentences, the small-cell rule."""
