"""One typed registry for compute backends (STYLE.md §9).

Each operation (e.g. ``"pfr_select"``) has implementations keyed by backend name
(``"numpy"`` is always the reference). Backends register with a decorator; callers
resolve ``backend="auto"`` once per call with :func:`resolve`.

>>> reg = Registry("demo")
>>> @reg.register("numpy")
... def _ref(x): return x + 1
>>> reg.get("numpy")(1)
2
>>> reg.resolve("auto", preference=("triton", "numpy"))
'numpy'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    """Backends of one operation: ``name -> (implementation, availability check)``."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self._impls: dict[str, F] = {}
        self._available: dict[str, Callable[[], bool]] = {}

    def register(
        self, name: str, *, available: Callable[[], bool] = lambda: True
    ) -> Callable[[F], F]:
        """Decorator registering ``fn`` as backend ``name``; ``available()`` is checked lazily."""

        def deco(fn: F) -> F:
            if name in self._impls:
                raise ValueError(f"backend {name!r} already registered for {self.operation}")
            self._impls[name] = fn
            self._available[name] = available
            return fn

        return deco

    def names(self) -> tuple[str, ...]:
        """Every registered backend name, available or not."""
        return tuple(self._impls)

    def available(self) -> tuple[str, ...]:
        """The registered backends usable on this machine now."""
        return tuple(n for n in self._impls if self._is_available(n))

    def _is_available(self, name: str) -> bool:
        try:
            return bool(self._available[name]())
        except Exception:  # an optional dependency failing to import means unavailable
            return False

    def resolve(self, backend: str, *, preference: Iterable[str] = ("numpy",)) -> str:
        """Resolve ``"auto"`` to the first available name in ``preference``; check others."""
        if backend == "auto":
            for name in preference:
                if name in self._impls and self._is_available(name):
                    return name
            raise ValueError(f"no available backend for {self.operation}")
        if backend not in self._impls:
            raise ValueError(
                f"backend must be 'auto' or one of {', '.join(map(repr, self._impls))} "
                f"for {self.operation}, got {backend!r}"
            )
        if not self._is_available(backend):
            raise ValueError(
                f"backend {backend!r} is not available on this machine for {self.operation}"
            )
        return backend

    def get(self, name: str) -> F:
        """The implementation registered as ``name`` (no ``"auto"``)."""
        return self._impls[self.resolve(name)]
