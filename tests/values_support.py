"""Support for the tests that pin every slide value by hand (tests/test_values_part*.py).

The claims are evaluated once per test session, from the current specs and engine, exactly as the
build evaluates them (mlsysim_deck.build.collect_claims).  The expected values live in the test
files, worked out by hand from datasheet values and the stated assumptions; nothing here computes
an expected value.

Hand-worked model sizes, shared by several parts (each is also pinned in tests/test_engine.py):

  Llama-3 8B (config.json: L 32, d 4096, H 32, H_KV 8, d_head 128, d_FFN 14336, V 128256, untied)
    P    = 4096 * (2*128256 + 32*(3*14336 + 2*128*32 + 2*128*8 + 2) + 1)      = 8,030,261,248
    P_mm = P - 128256*4096 (the input embedding is a lookup, not streamed)     = 7,504,924,672
    KV per token, FP16: 2 (K, V) * 32 layers * 8 KV heads * 128 * 2 B           = 131,072 B
  Llama-3 70B: 8192 * (2*128256 + 80*(3*28672 + 2*128*64 + 2*128*8 + 2) + 1)   = 70,553,706,496
  Llama-3.1 405B: 16384 * (2*128256 + 126*(3*53248 + 2*128*128 + 2*128*8 + 2) + 1) = 405,853,388,800
  Llama-3.2 1B (tied): 2048 * (128256 + 16*(3*8192 + 2*64*32 + 2*64*8 + 2) + 1) = 1,235,814,400
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

P8 = 8_030_261_248
P8_MM = 7_504_924_672
KV8 = 131_072  # B per token, FP16
P70 = 70_553_706_496
P405 = 405_853_388_800
P1B = 1_235_814_400

# Datasheet values (engine/mlsysim/specs/hardware.toml sources), in SI units
PEAK = {"H100": 989.4e12, "A100": 312e12, "B200": 2250e12, "MI300X": 1307.4e12, "Gaudi3": 1835e12}  # FLOP/s
BW = {"H100": 3.35e12, "A100": 2.039e12, "B200": 8e12, "MI300X": 5.3e12, "Gaudi3": 3.7e12}  # B/s
CAPACITY = {"H100": 80e9, "A100": 80e9, "B200": 180e9, "MI300X": 192e9, "Gaudi3": 128e9}  # B

# Stated assumptions (engine/mlsysim/specs/assumptions.toml), as the slides state them
ETA = 0.5  # [efficiency] compute_efficiency
CONTEXT = 4096  # [serving] context_tokens
FP16 = 2  # B, [serving] precision = fp16


@lru_cache(maxsize=1)
def all_claims() -> dict:
    from mlsysim import spec
    from mlsysim_deck.build import collect_claims

    spec.reset()
    return collect_claims(ROOT / "slides")


def claim(claim_id: str) -> dict:
    records = all_claims()
    assert claim_id in records, f"no claim {claim_id!r} in slides/*/claims.py"
    return records[claim_id]


def check(claim_id: str, expected, rel: float = 1e-6):
    """The claim's value (in its own unit, before any percent scaling) against the hand-worked one.

    A str is compared with the claim's text; True means a statement that must hold; a number is
    compared with the claim's value to `rel`."""
    record = claim(claim_id)
    if expected is True:
        assert record["kind"] == "statement" and record["value"] is True, claim_id
    elif isinstance(expected, str):
        assert record["text"] == expected, f"{claim_id}: slide shows {record['text']!r}, by hand {expected!r}"
    else:
        value = record["value"]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{claim_id}: {value!r}"
        assert value == pytest.approx(expected, rel=rel, abs=1e-12), \
            f"{claim_id}: engine {value!r} ({record['text']}), by hand {expected!r}"


def ring(message: float, n: int, bw: float, hop: float) -> float:
    """Ring AllReduce by hand: 2(N-1) steps, each a chunk of M/N bytes and one hop latency."""
    return 2 * (n - 1) * (message / n / bw + hop)


def hours_per_year() -> float:
    return 365.25 * 24  # a Julian year: 8,766 h


__all__ = ["P8", "P8_MM", "KV8", "P70", "P405", "P1B", "PEAK", "BW", "CAPACITY", "ETA", "CONTEXT", "FP16",
           "ROOT", "all_claims", "claim", "check", "ring", "hours_per_year"]
