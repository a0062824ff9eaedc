import mlsysim
# --- slide ---
t = mlsysim.core.formulas.calc_ring_allreduce_time(
    message_bytes=16e9,
    n_gpus=8,
    bandwidth_bytes_s=900e9,
    latency_s=500e-9,
)
print(f"AllReduce time: {t.to('ms'):.1f}")
