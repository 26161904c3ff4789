"""A request-rate limit toward one target: the starts of its requests are spaced evenly.

A target given ``max_rate = N`` (requests per second) gets one :class:`Pacer`; every request
sent to it (each attempt of a throttled call, each repeat of a poll, the probe of a silent
target) first takes the next free slot, ``1/N`` seconds after the one before. There is no burst
allowance: a replay that starts, or resumes after an idle moment, sends its first request at
once and the next one ``1/N`` seconds later. So any one-second window holds at most N request
starts, and N + 1 only when its two edges fall exactly on starts a second apart.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable


def check_rate(value: object, where: str) -> float | None:
    """``value`` as a rate (requests per second), or None when not given; else a sentence why not."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number of requests per second, like 5 or 0.5, not {value!r}")
    rate = float(value)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{where} must be a positive number of requests per second, not {value!r}")
    return rate


def stricter(*rates: float | None) -> float | None:
    """The lowest of the rates given (None: no limit); one limit never loosens another."""
    given = [rate for rate in rates if rate is not None]
    return min(given) if given else None


class Pacer:
    """Hands out request slots at most ``rate`` per second, in the order they are asked for.

    Used from one event loop: taking a slot reads and moves ``_next`` without awaiting in
    between, so two sessions never get the same slot.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = -math.inf

    def _take(self) -> float:
        """Take the next free slot; how long until it starts."""
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        return slot - now

    async def wait(self) -> None:
        """Return when the caller may start its request."""
        delay = self._take()
        if delay > 0:
            # Cancelled while waiting, the slot stays taken: the pace errs on the slow side.
            await self._sleep(delay)

    def wait_blocking(self) -> None:
        """``wait`` for our own (blocking) calls to the target: the cleanup's and the preflight's."""
        delay = self._take()
        if delay > 0:
            time.sleep(delay)


def blocking_pacer(rate: float | None) -> Callable[[], None] | None:
    """What to call before each of our own calls to a target held to ``rate`` (None: no limit)."""
    return Pacer(rate).wait_blocking if rate else None
