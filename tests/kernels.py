"""Starting a Jupyter kernel in a test run whose workers share the machine's ports (pytest-xdist).

jupyter_client picks a kernel's five TCP ports by binding port 0 and letting go; the kernel binds them
a moment later. In between, a connection from another test worker can take one of them, and the kernel
dies before it answers ("Kernel died before replying to kernel_info"). A new start picks new ports, so a
kernel that died starting is started again, up to :data:`STARTS` times; any other error is raised at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STARTS = 3
_DIED_STARTING = ("Kernel died before replying to kernel_info", "Kernel didn't respond to heartbeats")


def died_starting(exc: BaseException) -> bool:
    """Whether ``exc`` is jupyter_client's report of a kernel that never came up."""
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _DIED_STARTING)


def again_if_it_dies_starting(start: Callable[..., T]) -> Callable[..., T]:
    """``start``, called again (new kernel, new ports) while the kernel it starts dies starting."""

    @functools.wraps(start)
    def start_again(*args: object, **kwargs: object) -> T:
        for attempt in range(1, STARTS + 1):
            try:
                return start(*args, **kwargs)
            except RuntimeError as exc:
                if attempt == STARTS or not died_starting(exc):
                    raise
        raise AssertionError("unreachable")

    return start_again
