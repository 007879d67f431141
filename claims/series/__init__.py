"""The versions of the claims series, one module each."""
