import mlsysim
llama70 = mlsysim.Models.Language.Llama3_70B
fleet = mlsysim.Systems.Clusters.Research_256.subset(64)
# --- slide ---
for drag in [1.0, 1.05, 1.10]:
    r = mlsysim.DistributedModel(straggler_factor=drag).solve(
        llama70, fleet, batch_size=512, tp_size=8, pp_size=1,
        seq_len=4096, microbatch_count=8)
    print(f"straggler_factor={drag:.2f}: step {r.step_time:.1f~P}, "
          f"eff={r.scaling_efficiency:.1%}")
