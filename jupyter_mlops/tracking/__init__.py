"""Run lifecycle, buffered metric writing and the Python tracking API."""
