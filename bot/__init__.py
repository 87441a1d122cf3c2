"""laba (大喇叭): runs a town's garbage-sorting publicity campaign by itself."""

__version__ = "0.1.0"
