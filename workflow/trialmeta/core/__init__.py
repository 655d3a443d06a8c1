"""Shared by every stage: atomic file writing and schema-checked loading (`io`), and the record a
paper gets when it cannot be read (`records`). Imports nothing else of trialmeta."""
