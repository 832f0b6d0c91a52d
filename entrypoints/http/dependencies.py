"""Markers for what handlers receive by injection."""

from __future__ import annotations

from litestar.di import NamedDependency

from entrypoints.bootstrap import Services

ServicesDep = NamedDependency[Services]
