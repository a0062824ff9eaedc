import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
# prints: FP16: size={comp.fp16.weights} GB speedup={}x
# prints: INT8: size={comp.int8.weights} GB speedup={comp.int8.decode}x
# prints: INT4: size={comp.int4.weights} GB speedup={comp.int4.decode}x
# --- slide ---
comp = mlsysim.CompressionModel()
for name, bits in [("FP16", 16), ("INT8", 8), ("INT4", 4)]:
    r = comp.solve(llama, hw, method="quantization",
                   target_bitwidth=bits)
    print(f"{name}: size={r.compressed_size:~P} "
          f"speedup={r.inference_speedup:.1f}x")
