import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
cb = mlsysim.ContinuousBatchingModel()
# prints: fp16: {cb.target_limit} requests ({cb.target_binding} binds; memory allows {cb.paged_limit}), ITL {cb.target_itl} ms
# prints: int8: {cb.int8_target_limit} requests (ITL target binds; memory allows {cb.int8_memory_limit}), ITL {} ms
# --- slide ---
for prec in ["fp16", "int8"]:
    r = cb.solve(llama, hw, seq_len=\VAR{claim("context")}, page_size=\VAR{claim("cb.page")},
                 itl_slo=mlsysim.Q(\VAR{claim("cb.target")}, "ms"), precision=prec)
    print(f"{prec}: {r.max_concurrent_requests} requests "
          f"({r.binding} binds; memory allows {r.memory_limit}), "
          f"ITL {r.itl:.2f}")
