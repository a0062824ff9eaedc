import mlsysim
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
serving = mlsysim.ServingModel()
# --- slide ---
# Disaggregated serving in mlsysim
result = serving.solve(model, hw, seq_len=4096,
                       decode_hardware=mlsysim.Hardware.Cloud.A100)
print(f"TTFT: {result.ttft:~P} ITL: {result.itl:~P}")
