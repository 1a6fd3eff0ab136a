"""GeoVigie agent package."""
