import mlsysim
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
serving = mlsysim.ServingModel()
# --- slide ---
# mlsysim supports speculative decoding
draft = mlsysim.Models.Language.Llama3_8B # smaller
result = serving.solve(model, hw, seq_len=4096,
                       draft_model=draft, draft_acceptance_rate=0.7)
print(f"Speedup: {result.speculative_speedup:.2f}x")
