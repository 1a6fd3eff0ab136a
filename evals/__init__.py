"""GeoVigie evals package."""
