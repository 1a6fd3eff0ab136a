"""GeoVigie ui package."""
