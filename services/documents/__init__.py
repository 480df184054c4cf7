"""The documents service: the document library with group access, versions, and offers."""
