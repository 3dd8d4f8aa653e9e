"""What every local service shares: used as a context manager, it starts and always closes."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """A process the tests start: `with Service(...) as s:` starts it and closes it after."""

    def start(self) -> Self:
        """Start the service and wait until it is ready."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the service and clean up after it."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()  # a half-started service leaves nothing behind
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
