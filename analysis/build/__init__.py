"""Build and release tools, outside the layers: pre-render steps, the chapter executor, site check, publishing, synthetic data."""
