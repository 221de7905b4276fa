"""HTTP API, pages, CLI and composition root."""
