"""Quantities print for people: three significant digits unless a precision is asked for."""
from mlsysim import Q


def test_a_quantity_without_a_precision_prints_three_significant_digits():
    assert f"{Q(133.17053399222152, 'ms')}" == "133 ms"  # the TTFT listing's raw float
    assert f"{Q(4.6402, 'ms'):~P}" == "4.64 ms"
    assert str(Q(0.53687, "GB")) == "0.537 GB"
    assert f"{Q(16384.0, 'token')}" == "16,384 token"  # from 1,000 up: whole, with separators


def test_an_asked_precision_wins_and_the_value_stays_exact():
    q = Q(133.17053399222152, "ms")
    assert f"{q:.2f}" == "133.17 ms"
    assert f"{q:,.0f}" == "133 ms"
    assert q.magnitude == 133.17053399222152
