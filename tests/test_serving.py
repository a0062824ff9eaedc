"""Part 2 solvers against values worked out by hand (the arithmetic is in the comments).

Llama-3 8B (config.json): L = 32, d = 4096, H = 32, H_KV = 8, d_head = 128, d_FFN = 14336, V = 128256.
  P    = 2*128256*4096 (embeddings, untied) + 32*(2*4096*32*128 + 2*4096*8*128 + 3*4096*14336 + 2*4096)
         + 4096 = 1,050,673,152 + 32*218,112,000 + 4096 = 8,030,261,248
  P_mm = P - 128256*4096 = 8,030,261,248 - 525,336,576 = 7,504,924,672
  KV per token (FP16) = 2*32*8*128*2 B = 131,072 B
H100: 989.4 TFLOP/s, 3.35 TB/s, 80 GB; eta = 0.5, eta_bw = 1.0 (specs/assumptions.toml).
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

import mlsysim  # noqa: E402
from mlsysim import spec  # noqa: E402

L = mlsysim.Models.Language
C = mlsysim.Hardware.Cloud

WEIGHTS_STREAMED_FP16 = 7_504_924_672 * 2  # 15,009,849,344 B
KV_4K_FP16 = 131_072 * 4096  # 536,870,912 B


def test_kv_cache_is_a_quarter_of_the_multi_head_figure():
    r = mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, batch_size=1)
    # 2 * 32 layers * 8 KV heads * 128 * 4096 tokens * 2 B = 536,870,912 B = 0.537 GB
    assert r.kv_bytes == 536_870_912
    assert r.kv_cache_per_request.to("GB").magnitude == pytest.approx(0.536870912)
    # the multi-head formula (32 KV heads) gives 2,147,483,648 B: four times as much
    mha = mlsysim.serving.kv_bytes_per_request_mha(L.Llama3_8B, 4096, 2)
    assert mha == 2_147_483_648 == 4 * r.kv_bytes


def test_ttft_prefill_is_compute_bound_and_well_over_100_ms():
    r = mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, batch_size=1)
    # FLOPs = 2*P_mm*S + sum_{s=1}^{S} 4*L*H*d_head*s = 2*7,504,924,672*4096 + 2*32*32*128*4096*4097
    #       = 61,480,342,913,024 + 4,399,120,252,928 = 65,879,463,165,952
    assert r.prefill.flops == 65_879_463_165_952
    # / (0.5 * 989.4e12 FLOP/s) = 133.17 ms
    assert r.ttft.to("ms").magnitude == pytest.approx(65_879_463_165_952 / 494.7e12 * 1e3)
    assert r.ttft.to("ms").magnitude == pytest.approx(133.17, abs=0.01)
    assert r.prefill.bottleneck == "Compute"


def test_itl_is_one_memory_bound_decode_step():
    r = mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, batch_size=1)
    # (15,009,849,344 + 536,870,912) B / 3.35e12 B/s = 4.6408 ms
    assert r.itl.to("ms").magnitude == pytest.approx(15_546_720_256 / 3.35e12 * 1e3)
    assert r.itl.to("ms").magnitude == pytest.approx(4.6408, abs=1e-4)
    assert r.decode.bottleneck == "Memory"


def test_speculative_expected_tokens_is_a_geometric_series():
    f = mlsysim.core._derived_serving.speculative_expected_tokens
    # alpha = 0.5, gamma = 3: 1 + 0.5 + 0.25 + 0.125 = 1.875 (not K*alpha = 1.5)
    assert f(0.5, 3) == pytest.approx(1.875)
    # alpha = 0.7, gamma = 5: (1 - 0.7**6) / 0.3 = (1 - 0.117649) / 0.3 = 2.941170
    assert f(0.7, 5) == pytest.approx(2.941170, abs=1e-6)


def test_a_draft_as_big_as_the_target_slows_decoding_down():
    r = mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, draft_model=L.Llama3_8B,
                                     draft_acceptance_rate=0.7)
    # c = 1, v = 1 (verifying 6 tokens stays memory-bound), gamma = 5: 2.941170 / (5*1 + 1) = 0.490195
    assert r.draft_tokens == 5
    assert r.speculative_speedup == pytest.approx(0.490195, abs=1e-6)


def test_a_small_draft_speeds_decoding_up():
    r = mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, draft_model=L.Llama3_2_1B,
                                     draft_acceptance_rate=0.7)
    # Llama-3.2 1B: P = 128256*2048 (tied) + 16*(2*2048*32*64 + 2*2048*8*64 + 3*2048*8192 + 2*2048) + 2048
    #             = 262,668,288 + 16*60,821,504 + 2048 = 1,235,814,400; all streamed (the tied table is the head)
    # bytes: 1,235,814,400*2 + 2*16*8*64*2*4096 = 2,471,628,800 + 134,217,728 = 2,605,846,528 B
    # c = 2,605,846,528 / 15,546,720,256 = 0.167614 ; speedup = 2.941170 / (5*0.167614 + 1) = 1.60014
    assert L.Llama3_2_1B.parameters == 1_235_814_400
    assert r.draft_cost_ratio == pytest.approx(2_605_846_528 / 15_546_720_256)
    assert r.speculative_speedup == pytest.approx(1.60014, abs=1e-4)


def test_disaggregated_serving_moves_the_kv_cache_over_the_slower_nic():
    r = mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, decode_hardware=C.A100)
    # link: min(H100 400 Gb/s, A100 200 Gb/s) = 25 GB/s; 536,870,912 B / 25e9 B/s = 21.475 ms
    assert r.link_bandwidth == pytest.approx(25e9)
    assert r.kv_transfer_time.to("ms").magnitude == pytest.approx(21.474836, abs=1e-5)
    # decode on the A100: 15,546,720,256 B / 2.039e12 B/s = 7.6247 ms; prefill stays on the H100
    assert r.itl.to("ms").magnitude == pytest.approx(7.6247, abs=1e-4)
    assert r.ttft.to("ms").magnitude == pytest.approx(133.17, abs=0.01)


def test_concurrency_paged_versus_static():
    r = mlsysim.ContinuousBatchingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, page_size=16)
    # free = 80e9 - 8,030,261,248*2 = 63,939,477,504 B
    # paged: 4096/16 = 256 whole pages = 536,870,912 B per request -> floor(119.09) = 119
    # static: the 8192-token window = 1,073,741,824 B per request -> floor(59.55) = 59
    assert (r.memory_limit, r.static_limit) == (119, 59)
    assert r.max_concurrent_requests == 119 and r.binding == "memory"
    assert r.static_utilization == pytest.approx(0.5)


def test_concurrency_at_a_measured_utilisation():
    r = mlsysim.ContinuousBatchingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, page_size=16)
    # a request then takes 536,870,912 B / u of the 63,939,477,504 B beside the weights:
    # u = 0.5: 1,073,741,824 B each, floor(59.55) = 59 (the static allocator's count);
    # u = 0.25: 2,147,483,648 B each, floor(29.77) = 29; u = 1: floor(119.09) = 119
    assert [r.limit_at_utilization(u) for u in (0.25, 0.5, 1.0)] == [29, 59, 119]


def test_pages_waste_less_than_one_page():
    r = mlsysim.ContinuousBatchingModel().solve(L.Llama3_8B, C.H100, seq_len=4001, page_size=16)
    # ceil(4001/16) = 251 pages = 4016 tokens reserved for 4001 held: 15 tokens of waste
    assert r.reserved_paged == 4016 * 131_072
    assert r.kv_bytes == 4001 * 131_072


def test_max_batch_size_caps_the_batch():
    r = mlsysim.ContinuousBatchingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, max_batch_size=32,
                                                page_size=16)
    assert r.max_concurrent_requests == 32 and r.binding == "max batch size"
    # ITL at 32: (15,009,849,344 + 32*536,870,912) B / 3.35e12 B/s = 32,189,718,528 / 3.35e12 = 9.6089 ms
    assert r.itl.to("ms").magnitude == pytest.approx(9.6089, abs=1e-4)


def test_the_itl_target_binds_before_memory_does():
    r = mlsysim.ContinuousBatchingModel().solve(L.Llama3_8B, C.H100, seq_len=4096, page_size=16,
                                                itl_slo=mlsysim.Q(10, "ms"))
    # memory term: (0.010 s * 3.35e12 B/s - 15,009,849,344 B) / 536,870,912 B = 34.44 -> 34
    # compute term: 0.5*989.4e12*0.010 / (2*7,504,924,672 + 4*32*32*128*4096) = 288.3 (not binding)
    assert r.itl_limit == 34
    assert r.max_concurrent_requests == 34 and r.binding == "ITL target"
    assert r.memory_limit == 119
    assert r.itl.to("ms").magnitude <= 10


def test_concurrency_follows_the_hbm_capacity_in_the_spec(tmp_path, monkeypatch):
    import shutil

    for p in spec.SPEC_DIR.glob("*.toml"):
        shutil.copy(p, tmp_path / p.name)
    hw = tmp_path / "hardware.toml"
    text = hw.read_text()
    old = 'memory_capacity = { value = 80, unit = "GB", source = "NVIDIA H100'
    assert old in text
    hw.write_text(text.replace(old, 'memory_capacity = { value = 160, unit = "GB", source = "what-if: NVIDIA H100'))
    monkeypatch.setenv("MLSYSIM_SPECS", str(tmp_path))
    spec.reset()
    try:
        r = mlsysim.ContinuousBatchingModel().solve(mlsysim.Models.Language.Llama3_8B,
                                                    mlsysim.Hardware.Cloud.H100, seq_len=4096, page_size=16)
        # (160e9 - 16,060,522,496) / 536,870,912 = 268.1 -> 268
        assert r.memory_limit == 268
    finally:
        monkeypatch.delenv("MLSYSIM_SPECS")
        spec.reset()


def test_generated_formulas_match_the_derivations():
    from mlsysim.core import generate

    for module in ("derive_serving", "derive_compression"):
        assert generate.generated_path(module).read_text() == generate.generate(module)


def test_import_stays_light():
    import subprocess

    code = ("import sys, mlsysim; bad = [m for m in ('sympy', 'pint', 'matplotlib') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "engine"), "PATH": "/usr/bin:/bin"}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def test_no_transfer_without_a_scaleout_spec():
    with pytest.raises(ValueError, match="scaleout_link"):
        mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, decode_hardware=C.Gaudi3)
