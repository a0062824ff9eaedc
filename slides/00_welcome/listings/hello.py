# prints: {demo.bottleneck}
import mlsysim
print(mlsysim.__version__)
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
prof = mlsysim.Engine.solve(model, hw, batch_size=1)
print(prof.bottleneck)
