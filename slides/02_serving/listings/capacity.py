import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
# --- slide ---
cb = mlsysim.ContinuousBatchingModel()
result = cb.solve(llama, hw, seq_len=\VAR{claim("context")},
                  max_batch_size=\VAR{claim("cb.exercise_batch")}, page_size=\VAR{claim("cb.page")})
print(f"Max concurrent: {result.max_concurrent_requests}")
