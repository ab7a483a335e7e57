"""Monitoring: drift of logged predictions against a version's reference sample, and service metrics."""
