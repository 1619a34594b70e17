"""Batched observations reach prometheus_client exactly as direct ones would, on the next flush."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Histogram

from satchel.plugins.metrics.batch import Batcher, Cells

VALUES = [0.0, 0.0005, 0.001, 0.0011, 0.3, 7.0, 99.0, 0.001]


def exposition(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = (s for f in registry.collect() for s in f.samples if not s.name.endswith("_created"))
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in samples}


def pair(name: str) -> tuple[CollectorRegistry, Histogram, CollectorRegistry, Histogram]:
    a, b = CollectorRegistry(), CollectorRegistry()
    buckets = (0.0005, 0.001, 0.01, 1.0, 10.0)
    return (
        a,
        Histogram(name, "", ["k"], buckets=buckets, registry=a),
        b,
        Histogram(name, "", ["k"], buckets=buckets, registry=b),
    )


async def test_a_flushed_histogram_equals_direct_observations() -> None:
    direct_registry, direct, batched_registry, batched = pair("h")
    batcher = Batcher()
    try:
        cell = Cells(batcher).histogram(batched, "x")
        for v in VALUES:
            direct.labels("x").observe(v)
            cell.observe(v)
        assert exposition(batched_registry)[("h_count", (("k", "x"),))] == 0  # nothing until the flush
        batcher.flush()
        assert exposition(batched_registry) == exposition(direct_registry)
        batcher.flush()  # a second flush adds nothing
        assert exposition(batched_registry) == exposition(direct_registry)
    finally:
        batcher.close()


async def test_observations_are_flushed_by_the_loop_within_the_interval() -> None:
    registry = CollectorRegistry()
    counter = Counter("c", "", registry=registry)
    batcher = Batcher(interval=0.05)
    try:
        cell = Cells(batcher).counter(counter)
        cell.inc()
        cell.inc()
        assert counter._value.get() == 0
        await asyncio.sleep(0.2)
        assert counter._value.get() == 2
        cell.inc()
        await asyncio.sleep(0.2)
        assert counter._value.get() == 3
    finally:
        batcher.close()


def test_without_a_running_loop_an_observation_is_flushed_at_once() -> None:
    registry = CollectorRegistry()
    counter = Counter("c", "", registry=registry)
    batcher = Batcher(interval=60)
    try:
        Cells(batcher).counter(counter).inc()
        assert counter._value.get() == 1
    finally:
        batcher.close()
