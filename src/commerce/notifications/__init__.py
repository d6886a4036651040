"""What reaches people as it happens: pushes to open sockets (and later, notifications)."""
