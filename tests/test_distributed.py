"""Part 4: collectives, pipeline bubble, DistributedModel, training time, reliability.

Every expected value is worked out by hand in the comment beside it.
"""
import math
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

import mlsysim  # noqa: E402
from mlsysim import spec  # noqa: E402
from mlsysim.core import formulas  # noqa: E402

Clusters = mlsysim.Systems.Clusters
L8 = mlsysim.Models.Language.Llama3_8B
L70 = mlsysim.Models.Language.Llama3_70B
L405 = mlsysim.Models.Language.Llama3_405B


def ms(q):
    return q.to("ms").magnitude


# --- ring AllReduce (alpha-beta) ------------------------------------------------------------------

def test_ring_allreduce_1GB_8_gpus_per_direction():
    # 2*(8-1)/8 * 1e9 B / 450e9 B/s = 1.75 * 2.2222 ms = 3.8889 ms
    t = formulas.calc_ring_allreduce_time(message_bytes=1e9, n_gpus=8, bandwidth_bytes_s=450e9, latency_s=0)
    assert ms(t) == pytest.approx(3.8889, rel=1e-4)


def test_ring_allreduce_reference_900GBs_is_the_bidirectional_figure():
    # the reference's 1.9 ms: 1.75 * 1e9 / 900e9 = 1.9444 ms, half the per-direction time
    t = formulas.calc_ring_allreduce_time(message_bytes=1e9, n_gpus=8, bandwidth_bytes_s=900e9, latency_s=0)
    assert ms(t) == pytest.approx(1.9444, rel=1e-4)


def test_ring_allreduce_16GB_listing():
    # 1.75 * 16e9 / 900e9 = 31.111 ms, plus 2*7 steps * 0.5 us = 0.007 ms: 31.118 ms (not "~35 ms")
    t = formulas.calc_ring_allreduce_time(message_bytes=16e9, n_gpus=8, bandwidth_bytes_s=900e9,
                                          latency_s=500e-9)
    assert ms(t) == pytest.approx(31.118, rel=1e-4)


def test_ring_allreduce_1GB_at_50GBs_is_35ms():
    # the reference's speaker note: 1.75 * 1e9 / 50e9 = 35.0 ms
    t = formulas.calc_ring_allreduce_time(message_bytes=1e9, n_gpus=8, bandwidth_bytes_s=50e9)
    assert ms(t) == pytest.approx(35.0, rel=1e-6)


def test_ring_allreduce_256_gpus_infiniband():
    # 2*255/256 * 1e9 / 50e9 = 1.99219 * 20 ms = 39.844 ms
    t = formulas.calc_ring_allreduce_time(1e9, 256, 50e9, 0)
    assert ms(t) == pytest.approx(39.844, rel=1e-4)


def test_ring_allreduce_accepts_quantities():
    q = mlsysim.Q
    t = formulas.calc_ring_allreduce_time(q(1, "GB"), 8, q(450, "GB/s"), q(0, "us"))
    assert ms(t) == pytest.approx(3.8889, rel=1e-4)


def test_hierarchical_allreduce():
    # 4 nodes x 8 GPUs, 1 GB, no latency.  Reduce-scatter in node: 7/8 * 1e9/450e9 = 1.9444 ms;
    # across nodes, each GPU its 1/8: 2*3/4 * 0.125e9/50e9 = 3.75 ms; all-gather: 1.9444 ms.
    # 1.9444 + 3.75 + 1.9444 = 7.6389 ms
    t = formulas.calc_hierarchical_allreduce_time(1e9, 8, 4, 450e9, 0, 50e9, 0)
    assert ms(t) == pytest.approx(7.6389, rel=1e-4)


def test_p2p():
    # 100 MB over 50 GB/s = 2 ms, plus 2.7 us = 2.0027 ms
    assert ms(formulas.calc_p2p_time(100e6, 50e9, 2.7e-6)) == pytest.approx(2.0027, rel=1e-5)


# --- pipeline bubble ------------------------------------------------------------------------------

@pytest.mark.parametrize("p, m, expected", [
    (4, 4, 3 / 7),     # 0.4286
    (4, 16, 3 / 19),   # 0.1579
    (4, 32, 3 / 35),   # 0.0857
    (8, 32, 7 / 39),   # 0.1795
    (1, 8, 0.0),       # no pipeline, no bubble
])
def test_bubble_fraction(p, m, expected):
    assert formulas.bubble_fraction(p, m) == pytest.approx(expected, abs=1e-12)


def test_pipeline_makespan():
    # 4 stages, 8 microbatches, 1 ms forward + 2 ms backward each: (8+4-1) * 3 ms = 33 ms
    assert formulas.pipeline_makespan(4, 8, 1e-3, 2e-3) == pytest.approx(33e-3)


# --- clusters -------------------------------------------------------------------------------------

def test_cluster_specs():
    r = Clusters.Research_256
    assert r.gpus == 256 and r.gpus_per_node == 8 and r.nodes == 32
    assert r.scaleout_bw == pytest.approx(50e9)  # 400 Gb/s / 8 bit per byte
    assert r.scaleup_bw == pytest.approx(450e9)  # 900 GB/s both ways / 2
    assert Clusters.Frontier_8K.gpus == 8192
    assert Clusters.Meta_16K.gpus == 16384
    assert r.subset(64).gpus == 64 and r.subset(64).nodes == 8


def test_gpu_mtbf_source_arithmetic():
    # 16,384 GPUs x 54 days x 24 h / 419 failures = 50,677 GPU-hours per failure
    assert Clusters.Meta_16K.gpu_mtbf.to("h").magnitude == pytest.approx(16384 * 54 * 24 / 419, rel=1e-5)


# --- reliability ----------------------------------------------------------------------------------

def test_cluster_mtbf_8_and_8192():
    # 50,677 h / 8 = 6,334.6 h = 263.9 days; 50,677 h / 8,192 = 6.186 h
    r = mlsysim.Reliability
    assert r.cluster_mtbf_s(Clusters.Frontier_8K.subset(8)) / 86400 == pytest.approx(263.94, rel=1e-4)
    assert r.cluster_mtbf_s(Clusters.Frontier_8K) / 3600 == pytest.approx(6.1862, rel=1e-4)


def test_young_interval():
    # sqrt(2 * 60 s * 21,600 s) = sqrt(2,592,000) = 1,609.97 s
    assert formulas.young_interval(60, 21600) == pytest.approx(1609.97, rel=1e-5)


def test_young_interval_is_the_minimum_of_the_waste():
    tau = formulas.young_interval(60, 21600)
    w = formulas.checkpoint_waste(60, tau, 21600)
    # at the optimum both terms are equal: 60/1610 = 1610/(2*21600) = 0.03727; sum 0.07454
    assert w == pytest.approx(2 * 60 / 1609.97, rel=1e-4)
    assert formulas.checkpoint_waste(60, 1.2 * tau, 21600) > w < formulas.checkpoint_waste(60, 0.8 * tau, 21600)


def test_goodput():
    # delta 60 s, MTBF 21,600 s, restart 600 s: 1 - sqrt(2*60/21600) - 600/21600
    # = 1 - 0.074536 - 0.027778 = 0.897686
    assert formulas.goodput(60, 21600, 600) == pytest.approx(0.897686, rel=1e-5)


# --- training compute and time ----------------------------------------------------------------------

def test_parameter_counts_by_hand():
    # d * (2V + L * (3 d_ffn + 2 dh H + 2 dh H_kv + 2) + 1)
    # 70B: 8192 * (256,512 + 80 * 104,450 + 1) = 70,553,706,496
    assert L70.parameters == 70_553_706_496
    # 405B: 16384 * (256,512 + 126 * 194,562 + 1) = 405,853,388,800
    assert L405.parameters == 405_853_388_800


def test_hook_405b_days():
    # 6 * 405.853e9 * 15.6e12 = 3.7988e25 FLOP; / (16,384 * 989.4e12 * 0.40) = 5.8587e6 s = 67.81 days
    est = mlsysim.training_time(L405, Clusters.Meta_16K, mfu=0.40)
    assert est.flops == pytest.approx(3.7988e25, rel=1e-4)
    assert est.days.magnitude == pytest.approx(67.81, rel=1e-4)


def test_attention_term():
    # 12 L H dh S per token at S = 8192: 12 * 126 * 128 * 128 * 8192 = 2.0292e11, vs 6P = 2.4351e12
    with_attention = mlsysim.training_flops(L405, tokens=1, seq_len=8192)
    assert with_attention - 6 * L405.parameters == pytest.approx(12 * 126 * 128 * 128 * 8192, rel=1e-12)


def test_70b_gpu_years():
    # 6 * 70.5537e9 * 15e12 = 6.3498e24 FLOP; / (989.4e12 * 0.40) = 1.60445e10 s
    # / 3.15576e7 s per (Julian) year = 508.4 GPU-years; on 1,024 GPUs: 508.4/1024 yr = 181.3 days
    one = mlsysim.training_time(L70, Clusters.Frontier_8K.subset(1), mfu=0.40)
    assert one.gpu_years == pytest.approx(508.42, rel=1e-4)
    many = mlsysim.training_time(L70, Clusters.Frontier_8K.subset(1024), mfu=0.40)
    assert many.days.magnitude == pytest.approx(181.35, rel=1e-4)


# --- DistributedModel -----------------------------------------------------------------------------

def test_data_parallel_step_by_hand():
    # Llama-3 8B, 8 GPUs in one node, batch 8 x 4096 tokens, eta 0.5.
    # FLOPs: 6 * (8,030,261,248 + 2*32*32*128*4096) * 32,768 = 6 * 9,104,003,072 * 32,768
    # ideal: / (8 * 989.4e12 * 0.5) = 0.45227 s
    # gradient AllReduce over NVLink: 2*7/8 * 16.0605e9 B / 450e9 + 14 * 0.47 us = 0.062464 s
    # efficiency: 0.45227 / (0.45227 + 0.062464) = 0.87865
    r = mlsysim.DistributedModel().solve(L8, Clusters.Research_256.subset(8), batch_size=8, tp_size=1,
                                         pp_size=1, microbatch_count=1, seq_len=4096)
    assert r.feasible and r.dp_size == 8
    assert r.ideal_s == pytest.approx(0.45227, rel=1e-4)
    assert r.dp_comm_s == pytest.approx(0.062464, rel=1e-4)
    assert r.scaling_efficiency == pytest.approx(0.87865, rel=1e-4)
    assert r.effective_mfu == pytest.approx(0.5 * 0.87865, rel=1e-4)
    # memory: 16.06 + 16.06 + 96.36/8 GB + 4096*32*4096*2 B + 4096*4096*34 B = 45.81 GB
    assert r.memory.total / 1e9 == pytest.approx(45.81, rel=1e-3)


def test_stragglers_stretch_the_step():
    base = mlsysim.DistributedModel().solve(L8, Clusters.Research_256.subset(8), batch_size=8, seq_len=4096)
    slow = mlsysim.DistributedModel(straggler_factor=1.05).solve(L8, Clusters.Research_256.subset(8),
                                                                  batch_size=8, seq_len=4096)
    assert slow.step_s == pytest.approx(1.05 * base.step_s)
    assert slow.scaling_efficiency == pytest.approx(base.scaling_efficiency / 1.05)


def test_configuration_that_does_not_fit():
    # Llama-3 70B with TP=1, PP=1: BF16 weights alone are 2 * 70.55e9 = 141.1 GB > 80 GB
    r = mlsysim.DistributedModel().solve(L70, Clusters.Research_256.subset(64), batch_size=512, tp_size=1,
                                         pp_size=1, microbatch_count=8, seq_len=4096)
    assert not r.feasible
    assert "weights 141.1" in r.reason
    assert math.isnan(r.scaling_efficiency) and f"{r.scaling_efficiency:.1%}" == "does not fit"


def test_70b_tp8_fits_only_with_sharded_optimizer():
    # TP=8, PP=1, DP=8: per GPU 70.55e9/8 = 8.819e9 params: weights 17.64 + grads 17.64 GB,
    # optimizer 12 B * 8.819e9 = 105.8 GB unsharded (over 80 GB), 13.2 GB with ZeRO-1 over DP=8
    r = mlsysim.DistributedModel().solve(L70, Clusters.Research_256.subset(64), batch_size=512, tp_size=8,
                                         pp_size=1, microbatch_count=8, seq_len=4096)
    assert r.feasible
    assert r.memory.optimizer / 1e9 == pytest.approx(105.83 / 8, rel=1e-3)


def test_bubble_in_the_step():
    r = mlsysim.DistributedModel().solve(L70, Clusters.Research_256.subset(64), batch_size=512, tp_size=4,
                                         pp_size=2, microbatch_count=8, seq_len=4096)
    assert r.bubble_fraction == pytest.approx(1 / 9)  # (2-1)/(8+2-1)
    # the idle slots: (P-1) microbatch-times of compute + TP + PP communication
    per_micro = (r.compute_s + r.tp_comm_s + r.pp_comm_s) / 8
    assert r.bubble_s == pytest.approx(per_micro)


def test_microbatches_capped_at_sequences_per_replica():
    # 4096 sequences over DP = 8192/8 = 1024 replicas: 4 each, so at most 4 microbatches
    r = mlsysim.DistributedModel().solve(L8, Clusters.Frontier_8K, batch_size=4096, tp_size=8, pp_size=1,
                                         microbatch_count=32, seq_len=4096)
    assert r.dp_size == 1024 and r.microbatch_count == 4 and r.notes


# --- the spec is the one place: change InfiniBand, everything follows -----------------------------

@pytest.fixture
def slower_infiniband(tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "engine" / "mlsysim" / "specs", specs)
    text = (specs / "links.toml").read_text()
    head, rest = text.split("[RoCE_400G]")  # only InfiniBand NDR changes: 400 -> 200 Gb/s
    (specs / "links.toml").write_text(head.replace('value = 400, unit = "Gbit/s"', 'value = 200, unit = "Gbit/s"')
                                      + "[RoCE_400G]" + rest)
    monkeypatch.setenv("MLSYSIM_SPECS", str(specs))
    spec.reset()
    yield
    monkeypatch.delenv("MLSYSIM_SPECS", raising=False)
    spec.reset()


def _sample():
    c = mlsysim.Systems.Clusters
    r = mlsysim.DistributedModel().solve(mlsysim.Models.Language.Llama3_70B, c.Research_256.subset(64),
                                         batch_size=512, tp_size=8, pp_size=1, microbatch_count=8, seq_len=4096)
    big = mlsysim.DistributedModel().solve(mlsysim.Models.Language.Llama3_70B, c.Frontier_8K, batch_size=2048,
                                           tp_size=8, pp_size=1, microbatch_count=64, seq_len=8192)
    return c.Research_256.scaleout_bw, r.dp_comm_s, r.scaling_efficiency, big.scaling_efficiency, \
        c.Meta_16K.scaleout_bw


def test_infiniband_bandwidth_flows_through(slower_infiniband):
    bw, dp, eff, big, roce = _sample()
    assert bw == pytest.approx(25e9)  # 200 Gb/s / 8
    spec.reset()
    os.environ.pop("MLSYSIM_SPECS")
    bw0, dp0, eff0, big0, roce0 = _sample()
    assert bw0 == pytest.approx(50e9)
    assert dp == pytest.approx(2 * dp0, rel=1e-3)  # bandwidth-dominated: half the bandwidth, twice the time
    assert eff < eff0 and big < big0  # both InfiniBand clusters slow down
    assert roce == roce0 == pytest.approx(50e9)  # the RoCE cluster does not


def test_generated_file_matches_derivations():
    from mlsysim.core import generate

    generated = generate.generated_path("derive_distributed")
    assert generated.read_text() == generate.generate("derive_distributed")


def test_import_stays_light():
    import subprocess

    code = ("import sys, mlsysim; mlsysim.DistributedModel(); "
            "print(any(m in sys.modules for m in ('sympy', 'matplotlib', 'pint')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ | {"PYTHONPATH": str(ROOT / "engine")}, check=True)
    assert out.stdout.strip() == "False"
