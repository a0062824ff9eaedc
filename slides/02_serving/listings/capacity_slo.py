import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
cb = mlsysim.ContinuousBatchingModel()
# --- slide ---
for prec in ["fp16", "int8"]:
    r = cb.solve(llama, hw, seq_len=4096, page_size=16,
                 itl_slo=mlsysim.Q(10, "ms"), precision=prec)
    print(f"{prec}: {r.max_concurrent_requests} requests "
          f"({r.binding} binds; memory allows {r.memory_limit}), "
          f"ITL {r.itl:.2f}")
