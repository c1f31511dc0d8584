"""CEL conditions (issue 14): `common-expression-language` (Rust bindings) against
`cel-python` (pure Python), measured in the same run.

For each representative condition: compile time (text -> reusable program) and evaluation
time (program + activation -> value), as medians of repeated runs, then the ratio. Evaluation
includes turning the Python activation (about 50 JSON items) into each library's values,
which is what every delivery pays. Before timing, both evaluate every condition; where they
disagree the row shows both outcomes instead of times. Then the qualities that decide more
than speed: unknown variable / type error caught before evaluation, the position reported
for a syntax error, and how long a pathological nested comprehension runs (neither library
has a cost limit of its own).

Run: .venv/bin/python bench/cel_libraries.py  (cel-python is a dev dependency; src/ on the path)."""

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import cel
import celpy

from sundial.domain.conditions import ConditionInput, compile_condition
from sundial.domain.objectives import ObjectiveStatus

ACTIVATION: dict[str, Any] = {
    "output": {
        "price_change_pct": 0.07,
        "count": 3.0,
        "title": "Daily report: EU prices",
        "items": [{"score": 0.1 * (i % 10), "name": f"item-{i}"} for i in range(50)],
    },
    "data": {"region": "eu", "threshold": 0.05},
    "status": "FAILED",
    "schedule": {"id": "sch_1", "name": "daily-prices", "labels": {"team": "pricing"}},
    "agent": {"id": "agt_1", "name": "pricer"},
}

CONDITIONS = [
    ("comparison", "output.price_change_pct > 0.05"),
    ("and + in list", 'status == "FAILED" && data.region in ["eu", "us"]'),
    ("string functions", 'output.title.startsWith("Daily") && output.title.contains("EU")'),
    ("exists macro (50 items)", "output.items.exists(i, i.score > 0.85)"),
    ("int literal vs JSON double", "output.count == 3"),
]

# 300 x 300 x 300 = 27 million inner evaluations if nothing stops it.
PATHOLOGICAL = "output.big.all(a, output.big.all(b, output.big.all(c, a + b + c >= 0.0)))"
BIG = [float(i) for i in range(300)]


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def rust_compile(text: str) -> Any:
    return cel.compile(text)


def rust_eval(program: Any, activation: dict[str, Any]) -> Any:
    return program.execute(activation)


PY_ENV = celpy.Environment()


def py_compile(text: str) -> Any:
    return PY_ENV.program(PY_ENV.compile(text))


def py_eval(program: Any, activation: dict[str, Any]) -> Any:
    return program.evaluate(celpy.json_to_cel(activation))


def outcome(run: Callable[[], object]) -> str:
    try:
        value = run()
    except Exception as error:
        lines = [line for line in str(error).splitlines() if "ERROR" in line] or [str(error)]
        return f"{type(error).__name__}: {lines[0][-100:]}"
    if isinstance(value, cel.Program | celpy.Runner):
        return "compiled, no error"
    return f"= {value}"


def main() -> None:
    print(
        "| condition | Rust compile | cel-python compile | ratio | Rust eval | "
        "cel-python eval | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, text in CONDITIONS:
        rust_program = rust_compile(text)
        py_program = py_compile(text)
        rust_value = outcome(lambda p=rust_program: rust_eval(p, ACTIVATION))
        py_value = outcome(lambda p=py_program: py_eval(p, ACTIVATION))
        if rust_value != py_value:
            print(f"| {name} | Rust: {rust_value} | cel-python: {py_value} | | | | |")
            continue
        rc = median_seconds(lambda t=text: rust_compile(t), 200)
        pc = median_seconds(lambda t=text: py_compile(t), 50)
        re_ = median_seconds(lambda p=rust_program: rust_eval(p, ACTIVATION), 200)
        pe = median_seconds(lambda p=py_program: py_eval(p, ACTIVATION), 50)
        print(
            f"| {name} ({rust_value}) | {rc * 1e6:.0f} µs | {pc * 1e6:.0f} µs | "
            f"{pc / rc:.0f}x | {re_ * 1e6:.0f} µs | {pe * 1e6:.0f} µs | {pe / re_:.1f}x |"
        )

    print("\nsundial.domain.conditions (the chosen library plus its checks and cost bound):")
    condition_input = ConditionInput(
        output=ACTIVATION["output"],
        data=ACTIVATION["data"],
        status=ObjectiveStatus.FAILED,
        schedule=ACTIVATION["schedule"],
        agent=ACTIVATION["agent"],
    )
    for name, text in CONDITIONS:
        condition = compile_condition(text, "condition")
        if not condition.evaluate(condition_input).matched:
            sys.exit(f"{name}: compile_condition disagrees")
        mc = median_seconds(lambda t=text: compile_condition(t, "condition"), 200)
        me = median_seconds(lambda c=condition: c.evaluate(condition_input), 200)
        rc = median_seconds(lambda t=text: rust_compile(t), 200)
        program = rust_compile(text)
        re_ = median_seconds(lambda p=program: rust_eval(p, ACTIVATION), 200)
        print(
            f"- {name}: compile {mc * 1e6:.0f} µs ({mc / rc:.1f}x the bare library), "
            f"evaluate {me * 1e6:.0f} µs ({me / re_:.1f}x)"
        )

    print("\nQualities:")
    for label, text in [
        ("unknown variable", "nosuch > 1"),
        ("type error", '1 + "a"'),
    ]:
        print(
            f"- {label} {text!r}, compile only: Rust {outcome(lambda t=text: rust_compile(t))};"
            f" cel-python {outcome(lambda t=text: py_compile(t))}"
        )
    bad = 'status == "FAILED" &&\n  data.region in ["eu", "us"'
    print(f"- syntax error {bad!r}: Rust {outcome(lambda: rust_compile(bad))}")
    try:
        py_compile(bad)
    except celpy.CELParseError as error:
        print(f"  cel-python CELParseError line={error.line} column={error.column}")
    heavy = dict(ACTIVATION, output={"big": BIG})
    start = time.perf_counter()
    result = outcome(lambda: rust_eval(rust_compile(PATHOLOGICAL), heavy))
    print(f"- pathological (300^3) Rust: {result} after {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    refused = compile_condition(PATHOLOGICAL, "condition").evaluate(
        ConditionInput(output={"big": BIG}, data={}, status=ObjectiveStatus.FAILED)
    )
    print(
        f"- pathological (300^3) sundial.domain.conditions: {refused.error} "
        f"after {(time.perf_counter() - start) * 1e3:.1f} ms"
    )
    small = dict(ACTIVATION, output={"big": BIG[:60]})
    start = time.perf_counter()
    result = outcome(lambda: py_eval(py_compile(PATHOLOGICAL), small))
    print(
        f"- pathological (60^3, 125x smaller) cel-python: {result} after "
        f"{time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
