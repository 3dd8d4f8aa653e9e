"""The back office's read-only web dashboard (see `backoffice.web.app`)."""
