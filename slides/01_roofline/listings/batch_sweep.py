import mlsysim
# --- slide ---
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
solve = mlsysim.Engine.solve
for bs in [1, 4, 16, 64, 128, 256]:
    p = solve(llama, hw, batch_size=bs)
    row = f"bs={bs:>3d} {p.bottleneck:<8s}"
    print(row, f"MFU={p.mfu:.3f}")
