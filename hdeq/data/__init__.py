"""Data generators and bundled real data."""

__all__: list[str] = []
