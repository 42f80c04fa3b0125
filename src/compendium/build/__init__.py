"""Layer 7: profiles, the steps before the notebooks, papermill, Jupyter Book and the CLI."""
