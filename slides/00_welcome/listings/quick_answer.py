# prints: Bottleneck: {demo.bottleneck}
import mlsysim
profile = mlsysim.Engine.solve(
    mlsysim.Models.Language.Llama3_8B,
    mlsysim.Hardware.Cloud.H100,
    batch_size=1,
)
print(f"Bottleneck: {profile.bottleneck}")
print(f"MFU: {profile.mfu:.3f}")
