"""aifinops: what AI/ML work really costs across AWS, Azure and Google Cloud."""

from __future__ import annotations

__version__ = "0.1.0"
