import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
# --- slide ---
fleet = mlsysim.Systems.Clusters.Frontier_8K
dist = mlsysim.DistributedModel()
result = dist.solve(llama, fleet, batch_size=4096,
                    tp_size=8, pp_size=1, microbatch_count=32,
                    seq_len=4096)
print(f"Scaling eff: {result.scaling_efficiency:.1%}")
print(f"Comm overhead: {result.communication_overhead:.1%}")
print(f"Effective MFU: {result.effective_mfu:.1%}")
