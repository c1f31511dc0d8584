"""How many calls run at once, apart from the calls that wait.

Python runs one thread at a time, and every thread past a few that wants to run only adds
hand-offs of the interpreter lock, so few calls run at once. But a call that waits on
something else (a claim long-polling for an objective, up to a minute) must not hold one of
those few places: four waiting workers would stop every other call. So a waiting call gives
its place up while it waits, and takes one again to finish; a bounded number may wait at once.
"""

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any


class RunSlots:
    """`running` calls at once; while up to `waiting` more wait, they hold no slot."""

    def __init__(self, *, running: int, waiting: int) -> None:
        if running < 1 or waiting < 0:
            raise ValueError(f"need running >= 1 and waiting >= 0, got {running}, {waiting}")
        self.running_limit, self.waiting_limit = running, waiting
        self._slots = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._waiting = 0
        self._held = threading.local()  # .depth: how many running() this thread is in
        self._running = _Running(self._slots, self._held)
        self._on_wait: list[Callable[[], None]] = []

    def on_wait(self, listener: Callable[[], None]) -> None:
        """`listener()` hears each time a call starts waiting (its slot is free)."""
        self._on_wait.append(listener)

    @property
    def waiting_calls(self) -> int:
        """How many calls wait now (one read of an int: no lock needed)."""
        return self._waiting

    def running(self) -> "_Running":
        """Holds a slot (waiting for one) while the call runs, as a context manager; a
        thread that holds one already (a CallExecutor's) keeps it. (A class, not a
        generator: this is on every call's path.)"""
        return self._running

    @contextmanager
    def waiting(self) -> Iterator[bool]:
        """Around a wait on something else: gives this thread's slot up (if it holds one)
        until the wait ends. Yields False, keeping the slot, when `waiting` calls wait
        already: the caller should then not wait."""
        with self._lock:
            allowed = self._waiting < self.waiting_limit
            if allowed:
                self._waiting += 1
        if not allowed:
            yield False
            return
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = 0
            self._slots.release()
        for listener in self._on_wait:
            listener()
        try:
            yield True
        finally:
            if depth:
                self._slots.acquire()
                self._held.depth = depth
            with self._lock:
                self._waiting -= 1


class _Running:
    """RunSlots.running(): the slot is taken by the outermost entry of a thread."""

    def __init__(self, semaphore: threading.BoundedSemaphore, held: threading.local) -> None:
        self._semaphore = semaphore
        self._held = held

    def __enter__(self) -> None:
        depth = getattr(self._held, "depth", 0)
        if not depth:
            self._semaphore.acquire()
        self._held.depth = depth + 1

    def __exit__(self, *exc_info: object) -> None:
        self._held.depth -= 1
        if not self._held.depth:
            self._semaphore.release()


class CallExecutor(futures.Executor):
    """The gRPC server's threads, as many as `slots` let run and wait: a thread for each call
    that may run (it takes a slot for it) and one more for each call that waits, so that a
    waiting call never keeps a queued one from running, and no more threads than that
    contend for the interpreter lock (a thread pool as large as every call that may wait
    would run them all at once: Get fell from 1,258 to 808 calls/s). Threads start as work
    or waits need them and end when a wait is over."""

    def __init__(self, slots: RunSlots, *, name: str) -> None:
        self._slots = slots
        self._name = name
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._closed = False
        slots.on_wait(self._add_thread)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        future: futures.Future[Any] = futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit calls after shutdown")
        self._work.put(_Work(future, fn, args, kwargs))
        self._add_thread()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._work.put(None)  # each thread ends at one of these, after the work before it
        if wait:
            for thread in threads:
                thread.join()

    def _wanted(self) -> int:
        return self._slots.running_limit + self._slots.waiting_calls

    def _add_thread(self) -> None:
        if len(self._threads) >= self._wanted():
            return  # the common case, without the lock (checked again under it)
        with self._lock:
            if self._closed or len(self._threads) >= self._wanted():
                return
            thread = threading.Thread(
                target=self._run, name=f"{self._name}_{len(self._threads)}", daemon=True
            )
            self._threads.add(thread)
        thread.start()

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            work = self._work.get()
            if work is None:
                break
            if work.future.set_running_or_notify_cancel():
                with self._slots.running():
                    work.run()
            with self._lock:
                if len(self._threads) > self._wanted():
                    break  # a wait is over: one thread fewer is needed
        with self._lock:
            self._threads.discard(me)


class _Work:
    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(
        self,
        future: futures.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.future, self.fn, self.args, self.kwargs = future, fn, args, kwargs

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as error:  # the future carries it, as ThreadPoolExecutor's do
            self.future.set_exception(error)
        else:
            self.future.set_result(result)
