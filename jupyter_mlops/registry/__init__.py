"""The model registry: versions, aliases, gates, flavors, signatures, reports and safe loading."""
