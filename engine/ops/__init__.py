"""Lowerings of every supported op kind; importing this package registers them."""
