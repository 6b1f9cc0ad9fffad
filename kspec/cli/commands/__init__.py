"""One module per command. Each imports only click at module level; the engine loads when it runs."""
