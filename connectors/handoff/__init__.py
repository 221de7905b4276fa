"""Handoff connectors: one ``HandoffConnector`` interface, one module per backend."""
