import mlsysim
# --- slide ---
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
for bs in [1, 4, 16, 64, 128, 256]:
    p = mlsysim.Engine.solve(llama, hw, batch_size=bs)
    print(f"bs={bs:>3d} {p.bottleneck:<8s} "
          f"MFU={p.mfu:.3f}")
