"""Learning problems with train/test risk predictions, each with a ``simulate`` twin."""

__all__: list[str] = []
