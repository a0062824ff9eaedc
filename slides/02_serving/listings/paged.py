import mlsysim
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
# prints: Max concurrent: {cb.listing_batch}
# --- slide ---
# mlsysim models this with ContinuousBatchingModel
cb = mlsysim.ContinuousBatchingModel()
result = cb.solve(model, hw, seq_len=\VAR{claim("context")},
                  max_batch_size=\VAR{claim("cb.listing_batch")}, page_size=\VAR{claim("cb.page")})
print(f"Max concurrent: {result.max_concurrent_requests}")
