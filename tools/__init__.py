"""Development-only tools (never shipped in the extension)."""
