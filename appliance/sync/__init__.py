"""Sync with the back office: the wire protocol (shared with it) and the link."""
