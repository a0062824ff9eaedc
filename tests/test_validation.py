"""Reality check: the engine against published measurements (validation/measurements.toml).

Per row: predicted versus measured and the error.  Budgets on held-out rows: training step time (or
MFU, its inverse) within 10%, single-request latency within 20% (goal 10%).  Fitted efficiencies
come from calibration rows only.  The new engine pieces the comparison relies on are checked against
values worked out by hand first.
"""
import dataclasses
import math

import pytest

import mlsysim
from mlsysim.core import formulas as f
from mlsysim_deck import validation as v

ROWS = v.load_rows()
FIT = v.calibrate(ROWS)
COMPARISONS = {c.row.id: c for c in v.compare(ROWS, FIT)}
HELD_OUT = [r.id for r in ROWS if r.split == "held_out"]


# --- the data set --------------------------------------------------------------------------------

def test_the_set_has_at_least_12_rows_from_4_publications():
    assert len(ROWS) >= 12
    assert len({r.raw["publication"].split(",")[0].split(":")[0] for r in ROWS}) >= 4


def test_every_row_declares_its_split_and_source():
    for r in ROWS:
        assert r.split in ("calibration", "held_out"), r.id
        assert r.raw["where"] and r.raw["read_in"] and r.raw["confidence"], r.id


def test_every_fitted_group_has_calibration_and_held_out_rows():
    for group in FIT.factors:
        splits = {r.split for r in ROWS if r.group == group}
        assert splits == {"calibration", "held_out"}, group


def test_held_out_rows_do_not_move_the_fit():
    """Change every held-out measurement tenfold: the fitted factors stay exactly the same."""
    moved = [dataclasses.replace(r, value=r.value * 10) if r.split == "held_out" else r for r in ROWS]
    assert v.calibrate(moved).factors == FIT.factors


def test_calibration_rows_do_move_the_fit():
    moved = [dataclasses.replace(r, value=r.value * 1.2) if r.split == "calibration" else r for r in ROWS]
    refit = v.calibrate(moved).factors
    assert all(refit[g] != FIT.factors[g] for g in FIT.factors)


# --- the new engine pieces, by hand ----------------------------------------------------------------

def test_interleaved_bubble_by_hand():
    # Llama 3 405B at 8K GPUs: P = 16 ranks, v = 8 chunks each, M = 32 micro-batches:
    # (P-1)/(v M) = 15/256 = 0.05859375; plain 1F1B (v = 1): 15/32 = 0.46875
    assert f.bubble_ratio(16, 32, 8) == pytest.approx(15 / 256, rel=1e-12)
    assert f.bubble_ratio(16, 32, 1) == pytest.approx(0.46875, rel=1e-12)
    # makespan with t_f = 1, t_b = 2, P = 4, M = 8, v = 2: busy 8*3 = 24, fill/drain 3*(1+2)/2 = 4.5
    assert f.interleaved_makespan(4, 8, 2, 1.0, 2.0) == pytest.approx(28.5, rel=1e-12)
    # v = 1 is the one-forward-one-backward makespan (M+P-1)(t_f+t_b) = 11 * 3 = 33
    assert f.interleaved_makespan(4, 8, 1, 1.0, 2.0) == pytest.approx(33.0, rel=1e-12)


def test_causal_attention_positions_by_hand():
    # a 4-token causal sequence attends to 1, 2, 3, 4 positions: mean 2.5 = (4+1)/2
    assert f.causal_attention_positions(4) == pytest.approx(2.5)


def test_executed_training_flops_by_hand():
    # P = 1e9, D = 1e6 tokens, L = 2, H = 4, d_head = 8, S_bar = 100, 4 passes (recomputation):
    # 4 * 1e6 * (2e9 + 4*2*4*8*100 = 25,600) = 4e6 * 2,000,025,600 = 8.0001024e15
    assert f.training_flops_executed(4, 1e9, 1e6, 2, 4, 8, 100) == pytest.approx(8.0001024e15, rel=1e-12)


def test_megatron_eq3_by_hand():
    # GPT 1.7B (A7): B = 512, s = 2048, l = 24, h = 2304, V = 51,200.
    # 96 B s l h^2 = 96 * 512 * 2048 * 24 * 5,308,416 = 1.2824e16 (1.28240e16 to 5 figures:
    #   96*512 = 49,152; *2048 = 100,663,296; *24 = 2,415,919,104; *5,308,416 = 1.282470e16)
    # (1 + 2048/13,824 + 51,200/884,736) = 1 + 0.148148 + 0.057870 = 1.206019
    # total 1.282470e16 * 1.206019 = 1.546683e16
    gpt = v.model_of(next(r for r in ROWS if r.id == "A7"))
    assert v.megatron_eq3_flops(gpt, 512, 2048) == pytest.approx(1.546683e16, rel=1e-5)


def test_gpt_parameter_count_by_hand():
    # GPT 1.7B: per layer 4h^2 (attention) + 8h^2 (two-matrix MLP, 4h) + 2h (norms) = 12h^2 + 2h
    # h = 2304: 12 * 5,308,416 + 4,608 = 63,705,600; x 24 layers = 1,528,934,400
    # + tied embedding 51,200 * 2304 = 117,964,800 + final norm 2304 -> 1,646,901,504
    gpt = v.model_of(next(r for r in ROWS if r.id == "A7"))
    assert gpt.parameters == 1_646_901_504


def test_measured_efficiencies_are_the_sourced_rates_over_the_peaks():
    h100 = mlsysim.Hardware.Cloud.H100
    eta, eta_bw = h100.measured_efficiencies("bf16")
    assert eta == pytest.approx(794.5 / 989.4, rel=1e-9)  # MAMF BF16 over the dense peak: 0.803
    assert eta_bw == pytest.approx(2.97 / 3.35, rel=1e-9)  # STREAM Triad over the datasheet: 0.887


def test_context_parallel_layout_counts_gpus_as_tp_cp_pp_dp():
    # A3: TP8 x CP16 x PP16 x DP8 = 16,384 GPUs
    step = v.training_step(next(r for r in ROWS if r.id == "A3"), 1.0)
    assert step.feasible and step.dp_size == 8 and step.cp_size == 16
    assert step.bubble_ratio == pytest.approx(15 / 128)  # M = 16 sequences per DP group, v = 8
    assert step.micro_cp_s > 0


def test_a_plain_layout_is_unchanged_by_the_new_options():
    """v = 1, CP = 1, no causal kernel, no recomputation: the Part 4 step, term by term."""
    model, fleet = mlsysim.Models.Language.Llama3_70B, mlsysim.Systems.Clusters.Research_256
    old = mlsysim.DistributedModel().solve(model, fleet, batch_size=256, tp_size=8, pp_size=4, microbatch_count=8)
    assert old.mfu == pytest.approx(old.effective_mfu, rel=1e-12)


# --- the budgets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("row_id", HELD_OUT)
def test_held_out_row_within_budget(row_id):
    c = COMPARISONS[row_id]
    assert math.isfinite(c.predicted)
    assert c.within_budget, c.describe()


def test_llama3_405b_layouts_within_10_percent_of_reported_mfu():
    for row_id in ("A1", "A2"):
        c = COMPARISONS[row_id]
        assert abs(c.predicted - c.row.value) / c.row.value <= 0.10, c.describe()


def test_the_ideal_roofline_is_faster_than_every_measurement():
    """With the measured kernel rates alone (no fitted factor) every prediction is faster than what
    was measured: the factors are all below one, overheads only ever add time."""
    for c in COMPARISONS.values():
        assert c.factor < 1, c.describe()
        if v.higher_is_faster(c.row):
            assert c.ideal > c.row.value, c.describe()
        else:
            assert c.ideal < c.row.value, c.describe()


def test_the_appendix_frames_list_every_row_of_the_data():
    """The Reality check frames name their claims literally (the build sees what a slide uses), so a
    row added to validation/measurements.toml must be added to the frame too: this says which."""
    from conftest import ROOT

    template = (ROOT / "slides" / "90_appendix" / "slides.tex.j2").read_text(encoding="utf-8")
    for r in ROWS:
        for what in ("label", "measured", "ideal", "predicted", "error", "split"):
            assert f'claim("reality.{r.id}.{what}")' in template, f"row {r.id}: reality.{r.id}.{what} not on the frame"


def test_expected_h100_itl_scales_the_calibration_row_by_bytes():
    """Part 2's expected ITL (Llama-3 8B, H100, 4K context) is calibration row B4's measured step
    scaled by the bytes each step reads: the fitted factor cancels.
      B4: 126.90 token/s -> 1/126.90 s = 7.88022 ms per step at a 200-token context
      bytes at 200: 15,009,849,344 (weights) + 200 * 131,072 (KV per token: 2*32*8*128*2) = 15,036,063,744
      bytes at 4096: 15,009,849,344 + 536,870,912 = 15,546,720,256
      ITL = 7.88022 ms * 15,546,720,256 / 15,036,063,744 = 7.88022 * 1.033962 = 8.14785 ms"""
    h100, llama = mlsysim.Hardware.Cloud.H100, mlsysim.Models.Language.Llama3_8B
    eta, eta_bw = h100.measured_efficiencies("fp16")
    r = mlsysim.ServingModel().solve(llama, h100, seq_len=4096, batch_size=1, efficiency=eta,
                                     bandwidth_efficiency=eta_bw * FIT.factors["decode.H100"])
    assert r.itl_s * 1e3 == pytest.approx(8.14785, rel=1e-5)
