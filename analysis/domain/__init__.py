"""The transplant domain: endpoints, states reached after HCT, groupings of patients."""
