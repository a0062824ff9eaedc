import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
# prints: TTFT: {serving.ttft} ms
# prints: ITL: {serving.itl} ms
# prints: KV cache/req: {kv.per_request} GB
# --- slide ---
serving = mlsysim.ServingModel()
result = serving.solve(llama, hw,
                       seq_len=\VAR{claim("context")}, batch_size=1)
print(f"TTFT: {result.ttft:~P}")
print(f"ITL: {result.itl:~P}")
print(f"KV cache/req: {result.kv_cache_per_request:~P}")
