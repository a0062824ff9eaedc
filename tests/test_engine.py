"""Engine physics against values worked out by hand (arithmetic in the comments)."""
import math

import pytest

import mlsysim
from mlsysim import Engine

H100 = mlsysim.Hardware.Cloud.H100
llama8, llama70, llama405 = (mlsysim.Models.Language.Llama3_8B, mlsysim.Models.Language.Llama3_70B,
                             mlsysim.Models.Language.Llama3_405B)
resnet = mlsysim.Models.Vision.ResNet50


def test_llama3_8b_parameters_from_architecture():
    # embeddings: 2 (input + output, untied) * 128256 * 4096            = 1,050,673,152
    # per layer: q,o 2*4096*4096 = 33,554,432; k,v 2*4096*(8*128) = 8,388,608;
    #            FFN 3*4096*14336 = 176,160,768; 2 norms 2*4096 = 8,192  -> 218,112,000
    # 32 layers: 6,979,584,000; final norm 4,096
    # total: 1,050,673,152 + 6,979,584,000 + 4,096                      = 8,030,261,248
    assert llama8.parameters == 8_030_261_248


def test_llama3_70b_and_405b_parameters():
    # 70B: 2*128256*8192 = 2,101,346,304; per layer 2*8192^2 + 2*8192*1024 + 3*8192*28672 + 2*8192
    #      = 134,217,728 + 16,777,216 + 704,643,072 + 16,384 = 855,654,400; *80 = 68,452,352,000; +8192
    assert llama70.parameters == 2_101_346_304 + 68_452_352_000 + 8_192
    # 405B: 2*128256*16384 = 4,202,692,608; per layer 2*16384^2 + 2*16384*1024 + 3*16384*53248 + 2*16384
    #      = 536,870,912 + 33,554,432 + 2,617,245,696 + 32,768 = 3,187,703,808; *126 = 401,650,679,808
    assert llama405.parameters == 4_202_692_608 + 401_650_679_808 + 16_384


def test_kv_cache_uses_grouped_query_attention():
    # 2 (K,V) * 32 layers * 8 KV heads * 128 dims * 2 B = 131,072 B per token
    assert llama8.kv_bytes_per_token(2) == 131_072
    # 4096 tokens: 536,870,912 B = 0.537 GB, a quarter of the 32-head (multi-head) figure 2.15 GB
    assert llama8.kv_bytes_per_token(2) * 4096 == 536_870_912


def test_ridge_point_h100():
    # 989.4e12 FLOP/s / 3.35e12 B/s = 295.34 FLOP/B
    assert Engine.ridge_point(H100).to("FLOP/B").magnitude == pytest.approx(295.343, rel=1e-4)


def test_decode_step_llama3_8b_h100_batch1():
    p = Engine.solve(llama8, H100, batch_size=1, seq_len=4096)
    # streamed weights: all but the input embedding: 8,030,261,248 - 128256*4096 = 7,504,924,672
    # bytes: 2 B * 7,504,924,672 + 536,870,912 (KV) = 15,546,720,256 B
    assert p.bytes_moved == 15_546_720_256
    # memory time: 15,546,720,256 / 3.35e12 = 4.6408 ms
    assert p.latency.to("ms").magnitude == pytest.approx(4.6408, rel=1e-4)
    # FLOPs: 2 * 7,504,924,672 + 4 * 32 layers * 4096 ctx * 32 heads * 128 = 15,009,849,344 + 2,147,483,648
    assert p.flops == 17_157_332_992
    # compute time at eta = 0.5: 17,157,332,992 / 494.7e12 = 0.034682 ms
    assert p.compute_time.to("ms").magnitude == pytest.approx(0.034682, rel=1e-4)
    assert p.bottleneck == "Memory"
    # MFU: 17,157,332,992 / (4.6408e-3 s * 989.4e12) = 0.003737
    assert p.mfu == pytest.approx(0.003737, rel=1e-3)
    # throughput: 1 token / 4.6408 ms = 215.48 token/s
    assert p.throughput.to("token/s").magnitude == pytest.approx(215.48, rel=1e-3)


def test_three_vendors_follow_bandwidth():
    # same 15,546,720,256 B per step: MI300X 5.3e12 B/s -> 2.9333 ms; Gaudi 3 3.7e12 -> 4.2018 ms
    mi = Engine.solve(llama8, mlsysim.Hardware.Cloud.MI300X, batch_size=1, seq_len=4096)
    ga = Engine.solve(llama8, mlsysim.Hardware.Cloud.Gaudi3, batch_size=1, seq_len=4096)
    assert mi.latency.to("ms").magnitude == pytest.approx(2.9333, rel=1e-4)
    assert ga.latency.to("ms").magnitude == pytest.approx(4.2018, rel=1e-4)
    assert mi.bottleneck == ga.bottleneck == "Memory"


def test_resnet50_batch256_is_compute_bound():
    p = Engine.solve(resnet, H100, batch_size=256)
    # FLOPs: 8.18e9 * 256 = 2.09408e12; at 0.5 * 989.4e12: 4.2330 ms
    assert p.compute_time.to("ms").magnitude == pytest.approx(4.2330, rel=1e-4)
    # bytes: 25,557,032 * 2 + 256 * 150,528 * 2 = 51,114,064 + 77,070,336 = 128,184,400 B -> 38.26 us
    assert p.bytes_moved == 128_184_400
    assert p.memory_time.to("us").magnitude == pytest.approx(38.264, rel=1e-3)
    assert p.bottleneck == "Compute"
    assert p.mfu == pytest.approx(0.5)


def test_crossover_batch_depends_on_context():
    # no KV cache: AI = B, compute roof at eta*ridge = 0.5 * 295.34 = 147.67 -> first compute-bound B = 148
    assert Engine.crossover_batch(llama8, H100, seq_len=0) == 148
    # S = 512: B* = P_mm*b*peak*eta / (4*BW*S*dh*H*L + 2*BW*P_mm - S*eta*KV*peak)
    #   numerator   7,504,924,672 * 2 * 989.4e12 * 0.5                    = 7.42537e24
    #   denominator 4*3.35e12*512*128*32*32 = 8.99259e20; 2*3.35e12*7,504,924,672 = 5.02830e22;
    #               512*0.5*131072*989.4e12 = 3.31989e22  -> 1.79834e22
    #   B* = 412.9 -> 413
    assert Engine.crossover_batch(llama8, H100, seq_len=512) == 413
    # S = 4096: the KV cache caps AI below the compute roof: no batch is compute-bound
    assert Engine.crossover_batch(llama8, H100, seq_len=4096) is None


def test_crossover_matches_solve():
    b = Engine.crossover_batch(llama8, H100, seq_len=512)
    assert Engine.solve(llama8, H100, batch_size=b, seq_len=512).bottleneck == "Compute"
    assert Engine.solve(llama8, H100, batch_size=b - 1, seq_len=512).bottleneck == "Memory"


def test_iron_law_405b_hook():
    # 6 * 405,853,388,800 * 15.6e12 = 3.79879e25 FLOP; / (16384 * 989.4e12 * 0.40) = 5.8585e6 s = 67.8 days
    t = mlsysim.core.formulas.iron_law(6 * llama405.parameters * 15.6e12, 16384, 989.4e12, 0.40, 1, 1)
    assert t / 86400 == pytest.approx(67.81, rel=1e-3)


def test_decode_units_and_formatting():
    p = Engine.solve(llama8, H100, batch_size=1)
    assert f"{p.latency:.2f}" == "4.64 ms"
    assert isinstance(p.mfu, float) and isinstance(p.bottleneck, str)


def test_solve_rejects_bad_batch_and_unknown_names():
    with pytest.raises(ValueError, match="batch_size"):
        Engine.solve(llama8, H100, batch_size=0)
    with pytest.raises(AttributeError, match="H100"):
        mlsysim.Hardware.Cloud.H101
    with pytest.raises(TypeError):
        Engine.solve("Llama3_8B", H100)


def test_gb_is_decimal():
    # the datasheet's 80 GB is 80e9 bytes, not 80 GiB
    assert H100.si("memory_capacity") == 80e9
    assert math.isclose(H100.si("memory_bandwidth"), 3.35e12)


def test_resnet50_activation_elements_by_hand():
    """The spec's per-image activation traffic, summed from He et al. Table 1 (torchvision v1.5).

    Each convolution reads its input and writes its output; each block's residual add reads the
    shortcut (4w channels at the block's output size) in its last convolution's epilogue.
      stem: conv1 150,528 + 802,816; max pool 802,816 + 200,704                    = 1,956,864
      a block at s x s, width w, from 4w channels (not the first of its stage):
        1x1 4w->w: 4w s^2 + w s^2; 3x3: 2 w s^2; 1x1 w->4w: w s^2 + 4w s^2; residual 4w s^2 = 16 w s^2
        conv2 (56, 64): 16 * 64 * 3136 = 3,211,264; conv3 (28, 128): 1,605,632;
        conv4 (14, 256): 802,816; conv5 (7, 512): 401,408
      first blocks (input c_in at s_in, stride 2 on the 3x3, plus the 1x1 downsample c_in -> 4w):
        conv2: 64*3136 + 64*3136 | 64*3136 + 64*3136 | 64*3136 + 256*3136 | 64*3136 + 256*3136 | 256*3136
             = 3136 * (64*6 + 256*3) = 3136 * 1152 = 3,612,672
        conv3: 256*3136 + 128*3136 | 128*3136 + 128*784 | 128*784 + 512*784 | 256*3136 + 512*784 | 512*784
             = 3136 * 768 + 784 * 1792 = 2,408,448 + 1,404,928 = 3,813,376
        conv4: 512*784 + 256*784 | 256*784 + 256*196 | 256*196 + 1024*196 | 512*784 + 1024*196 | 1024*196
             = 784 * 1536 + 196 * 3584 = 1,204,224 + 702,464 = 1,906,688
        conv5: 1024*196 + 512*196 | 512*196 + 512*49 | 512*49 + 2048*49 | 1024*196 + 2048*49 | 2048*49
             = 196 * 3072 + 49 * 7168 = 602,112 + 351,232 = 953,344
      stages: 3,612,672 + 2*3,211,264 = 10,035,200; 3,813,376 + 3*1,605,632 = 8,630,272;
              1,906,688 + 5*802,816 = 5,920,768; 953,344 + 2*401,408 = 1,756,160
      head: average pool 2048*49 + 2048; classifier 2048 + 1000                      = 105,448
      total 1,956,864 + 10,035,200 + 8,630,272 + 5,920,768 + 1,756,160 + 105,448     = 28,404,712
    """
    resnet = mlsysim.Models.Vision.ResNet50
    assert resnet.spec.si("activation_elements") == 28_404_712


def test_resnet50_with_activation_traffic_falls_below_the_h100_ridge():
    resnet = mlsysim.Models.Vision.ResNet50
    on_chip = Engine.solve(resnet, mlsysim.Hardware.Cloud.H100, batch_size=256, precision="fp16")
    traffic = Engine.solve(resnet, mlsysim.Hardware.Cloud.H100, batch_size=256, precision="fp16",
                           activation_traffic=True)
    # bytes: 25,557,032*2 + 256*28,404,712*2 = 51,114,064 + 14,543,212,544 = 14,594,326,608 B
    # FLOPs: 256 * 8.18e9 = 2.09408e12; AI = 2.09408e12 / 14,594,326,608 = 143.49 FLOP/B (< 295 ridge)
    assert traffic.bytes_moved == 14_594_326_608
    assert traffic.arithmetic_intensity.magnitude == pytest.approx(143.486, abs=1e-3)
    # memory 14,594,326,608 / 3.35e12 = 4.3565 ms > compute 2.09408e12 / (0.5 * 989.4e12) = 4.2330 ms
    assert traffic.bottleneck == "Memory" and on_chip.bottleneck == "Compute"
