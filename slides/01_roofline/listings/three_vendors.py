# prints: {hw.H100.name}: {three.H100.bottleneck}, {three.H100.latency} ms
# prints: {hw.MI300X.name}: {three.MI300X.bottleneck}, {three.MI300X.latency} ms
# prints: {hw.Gaudi3.name}: {three.Gaudi3.bottleneck}, {three.Gaudi3.latency} ms
import mlsysim
model = mlsysim.Models.Language.Llama3_8B
for hw_name in [\VAR{claim("compare.flagships.keys")}]:
    hw = getattr(mlsysim.Hardware.Cloud, hw_name)
    p = mlsysim.Engine.solve(model, hw, batch_size=1)
    print(f"{hw.name}: {p.bottleneck}, "
          f"{p.latency:.2f}")
