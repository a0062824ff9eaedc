import mlsysim
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
# --- slide ---
# mlsysim models this with ContinuousBatchingModel
cb = mlsysim.ContinuousBatchingModel()
result = cb.solve(model, hw, seq_len=4096,
                  max_batch_size=32, page_size=16)
print(f"Max concurrent: {result.max_concurrent_requests}")
