"""The data layer: the extract format (schema and its labels), readers, mapping, validation, inclusion, the cohort and the study file."""
