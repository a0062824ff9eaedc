import mlsysim
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
serving = mlsysim.ServingModel()
# prints: Speedup: {spec.self_speedup}x
# --- slide ---
# mlsysim supports speculative decoding
draft = mlsysim.Models.Language.Llama3_8B  # the target itself, not smaller
result = serving.solve(model, hw, seq_len=\VAR{claim("context")},
                       draft_model=draft, draft_acceptance_rate=\VAR{claim("spec.alpha")})
print(f"Speedup: {result.speculative_speedup:.2f}x")
