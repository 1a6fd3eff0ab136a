"""Shared foundation of GeoVigie: settings, errors, domain types and persistence."""
