import mlsysim
# prints: 405B on {hook.fleet_gpus} GPUs: {hook.iron_law_days} d (6PD), {dist.hook.days_attention} d with attention
# prints: 70B on 1 GPU: {dist.l70.gpu_years} GPU-years
# --- slide ---
l405 = mlsysim.Models.Language.Llama3_405B
meta = mlsysim.Systems.Clusters.Meta_16K
napkin = mlsysim.training_time(l405, meta)  # 6PD at the stated MFU
full = mlsysim.training_time(l405, meta, seq_len=\VAR{claim("dist.hook.context")})  # + attention
print(f"405B on {meta.gpus} GPUs: {napkin.days:.0f~P} (6PD), "
      f"{full.days:.0f~P} with attention")
l70 = mlsysim.Models.Language.Llama3_70B
one = mlsysim.training_time(l70, meta.subset(1))
print(f"70B on 1 GPU: {one.gpu_years:.0f} GPU-years")
