"""Print the Reality check: every validation row, predicted versus measured, and the fitted factors.

    python benchmarks/validation.py
"""
from mlsysim_deck import validation as v


def main() -> None:
    rows = v.load_rows()
    fit = v.calibrate(rows)
    comps = v.compare(rows, fit)
    print("Fitted factors (fraction of the measured kernel rates a whole step achieves), calibration rows:")
    for group, factor in fit.factors.items():
        print(f"  {group:<16} {factor:.3f}   fitted on {', '.join(fit.rows[group])}")
    print()
    head = f"{'row':<9} {'split':<11} {'quantity':<15} {'ideal':>9} {'predicted':>10} {'measured':>9} {'unit':<9} {'error':>7} {'budget':>6}  ok"
    print(head)
    print("-" * len(head))
    for c in comps:
        r = c.row
        print(f"{r.id:<9} {r.split:<11} {r.quantity:<15} {c.ideal:>9.4g} {c.predicted:>10.4g} {r.value:>9g} "
              f"{r.unit:<9} {100 * c.error:>+6.1f}% {100 * c.budget:>5.0f}%  {'yes' if c.within_budget else 'NO'}")
    print()
    print("error: of the time the row measures (step or latency); for rates, measured/predicted - 1.")
    print("ideal: the measured kernel rates alone (factor 1).")
    for key, s in v.summary(comps).items():
        print(f"  {key:<22} rows {s['rows']:>2}  mean |error| {100 * s['mean']:5.1f}%  max {100 * s['max']:5.1f}%")
    print()
    for c in comps:
        print(f"  {c.row.id}: {c.row.source}")


if __name__ == "__main__":
    main()
