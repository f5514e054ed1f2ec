"""What each chapter computes, from the cohort and the study's settings."""
