"""What a long-running process does with its heap once it has started (`sundial serve`,
its engine and API or a REST front apart)."""

import gc


def settle_heap() -> None:
    """Takes what start-up made (modules, the wiring) out of the garbage collector's reach.

    CPython's full collections walk every tracked object, and a long-running server has
    more than a hundred thousand of them from its imports alone. Full collections come often
    under load: the short-lived objects of a firing pass or of a call that outlive a young
    collection count toward the next full one, even when reference counting frees them soon
    after. `gc.freeze` moves the objects alive now to a generation no collection visits
    (BENCHMARKS.md, "Firing after issues 14 and 19", has what this saves); objects made later
    are collected as before. The garbage start-up left is collected first."""
    gc.collect()
    gc.freeze()
