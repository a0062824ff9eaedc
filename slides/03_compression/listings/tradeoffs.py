import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
comp = mlsysim.CompressionModel()
# prints: Quant: {comp.int8.decode}x / {comp.int8.accuracy} pts lost
# prints: Prune: {comp.structured.decode}x / {comp.structured.accuracy} pts lost
# --- slide ---
r1 = comp.solve(llama, hw, method="quantization",
                target_bitwidth=8)
r2 = comp.solve(llama, hw, method="pruning",
                sparsity=\VAR{claim("comp.sparsity")}, sparsity_type="structured")
print(f"Quant: {r1.inference_speedup:.1f}x / "
      f"{abs(r1.accuracy_delta) * 100:.1f} pts lost")
print(f"Prune: {r2.inference_speedup:.1f}x / "
      f"{abs(r2.accuracy_delta) * 100:.1f} pts lost")
