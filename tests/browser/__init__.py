"""Real-browser tests (marker ``browser``): JupyterLab and Voilà in headless chromium."""
