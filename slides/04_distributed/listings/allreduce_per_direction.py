import mlsysim
# prints: {dist.l8.grads} GB, NVLink one way: {dist.ar16.per_dir} ms
# --- slide ---
hw = mlsysim.Hardware.Cloud.H100
nodes = mlsysim.Systems.Clusters.Research_256
grads = mlsysim.Models.Language.Llama3_8B.parameters * 2  # BF16
t = mlsysim.core.formulas.calc_ring_allreduce_time(
    message_bytes=grads,
    n_gpus=\VAR{claim("dist.ar.small")},
    bandwidth_bytes_s=hw.scaleup_bandwidth_per_direction,
    latency_s=nodes.scaleup_latency,
)
print(f"{grads / 1e9:.1f} GB, NVLink one way: {t.to('ms'):.1f}")
