import mlsysim
llama70 = mlsysim.Models.Language.Llama3_70B
fleet = mlsysim.Systems.Clusters.Research_256.subset(\VAR{claim("dist.job.gpus")})
# --- slide ---
for drag in [1.0, \VAR{claim("dist.straggler.example")}, 1.10]:
    dm = mlsysim.DistributedModel(straggler_factor=drag)
    r = dm.solve(llama70, fleet, tp_size=8, pp_size=1,
                 batch_size=\VAR{claim("dist.job.batch")}, seq_len=\VAR{claim("dist.seq")},
                 microbatch_count=\VAR{claim("dist.job.micro")})
    print(f"straggler_factor={drag:.2f}: "
          f"step {r.step_time:.1f~P}, "
          f"eff={r.scaling_efficiency:.1%}")
