import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
comp = mlsysim.CompressionModel()
# prints: unstructured: {comp.unstructured.decode}x
# prints: structured: {comp.structured.decode}x
# prints: n_m: {comp.n_m.decode}x
# --- slide ---
for stype in ["unstructured", "structured", "n_m"]:
    r = comp.solve(llama, hw, method="pruning",
                   sparsity=\VAR{claim("comp.sparsity")}, sparsity_type=stype)
    print(f"{stype:>14}: {r.inference_speedup:.1f}x")
