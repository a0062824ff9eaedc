import mlsysim
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
serving = mlsysim.ServingModel()
# prints: TTFT: {disagg.ttft} ms ITL: {disagg.itl} ms
# --- slide ---
result = serving.solve(model, hw, seq_len=\VAR{claim("context")},  # disaggregated:
                       decode_hardware=mlsysim.Hardware.Cloud.A100)
print(f"TTFT: {result.ttft:~P} ITL: {result.itl:~P}")
