"""Engine.sweep: the roofline over arrays, equal to Engine.solve point by point."""
import subprocess
import sys

import numpy as np
import pytest

from workflow_support import ENGINE

import mlsysim
from mlsysim import Engine


@pytest.fixture(scope="module")
def llama():
    return mlsysim.Models.Language.Llama3_8B


@pytest.fixture(scope="module")
def h100():
    return mlsysim.Hardware.Cloud.H100


def test_hand_worked_decode_step(llama, h100):
    # Llama-3 8B: per layer 2*4096*32*128 (Q, O) + 2*4096*8*128 (K, V) + 3*4096*14336 (FFN) + 2*4096 (norms)
    #   = 33,554,432 + 8,388,608 + 176,160,768 + 8,192 = 218,112,000; x 32 layers = 6,979,584,000
    # + embeddings 2*128,256*4096 = 1,050,673,152 + final norm 4,096 -> P = 8,030,261,248
    # a decode step streams all but the input embedding: P_mm = P - 128,256*4096 = 7,504,924,672
    # batch 1, context 0, FP16: bytes = 2 * P_mm = 15,009,849,344 B; FLOPs = 2 * P_mm = 15,009,849,344
    # memory time = 15,009,849,344 B / 3.35e12 B/s = 4.4806 ms; compute = 15.01e9 / (0.5 * 989.4e12) = 30.3 us
    s = Engine.sweep(llama, h100, batch_size=np.array([1]), seq_len=np.array([0]))
    assert s.bytes_moved[0] == 15_009_849_344
    assert s.latency_s[0] == pytest.approx(15_009_849_344 / 3.35e12, rel=1e-12)
    assert s.compute_s[0] == pytest.approx(15_009_849_344 / (0.5 * 989.4e12), rel=1e-12)
    assert not s.compute_bound[0] and s.bottleneck[0] == "Memory"
    # intensity = FLOPs / bytes = 1 FLOP/B at batch 1 with no KV cache
    assert s.arithmetic_intensity[0] == pytest.approx(1.0, rel=1e-12)


def test_crossover_with_no_kv_cache(llama, h100):
    # context 0: compute B * 2 P_mm / (0.5 * 989.4e12) = memory 2 P_mm / 3.35e12
    #   -> B* = 0.5 * 989.4 / 3.35 = 147.67: the first compute-bound batch is 148
    batches = np.arange(1, 1025)
    s = Engine.sweep(llama, h100, batch_size=batches, seq_len=0)
    assert batches[np.argmax(s.compute_bound)] == 148
    assert s.compute_bound[147:].all() and not s.compute_bound[:147].any()


def test_equals_engine_solve_point_by_point(llama, h100):
    batches = np.array([1, 7, 64, 300, 1024])
    contexts = np.array([0, 512, 4096, 32768])
    s = Engine.sweep(llama, h100, batch_size=batches[:, None], seq_len=contexts[None, :])
    assert s.shape == (5, 4)
    for i, b in enumerate(batches):
        for j, c in enumerate(contexts):
            p = Engine.solve(llama, h100, batch_size=int(b), seq_len=int(c))
            assert s.latency_s[i, j] == pytest.approx(p.latency_s, rel=1e-12)
            assert s.mfu[i, j] == pytest.approx(p.mfu, rel=1e-12)
            assert s.arithmetic_intensity[i, j] == pytest.approx(p.arithmetic_intensity.magnitude, rel=1e-12)
            assert s.bottleneck[i, j] == p.bottleneck
            assert s.throughput[i, j] == pytest.approx(p.throughput.magnitude, rel=1e-12)


def test_cnn_and_efficiency_arrays(h100):
    resnet = mlsysim.Models.Vision.ResNet50
    s = Engine.sweep(resnet, h100, batch_size=np.array([1, 256]), efficiency=np.array([[0.25], [0.5]]))
    assert s.shape == (2, 2)
    p = Engine.solve(resnet, h100, batch_size=256, efficiency=0.25)
    assert s.latency_s[0, 1] == pytest.approx(p.latency_s, rel=1e-12)


def test_bad_batch_is_refused(llama, h100):
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        Engine.sweep(llama, h100, batch_size=np.array([0, 1]))


def test_import_mlsysim_does_not_import_numpy():
    code = "import sys, mlsysim; assert 'numpy' not in sys.modules, 'numpy imported'"
    proc = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(ENGINE)}, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
