import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
# prints: context {}: flips at batch {crossover.weights_only}
# prints: context {short_context}: flips at batch {crossover.short}
# --- slide ---
for ctx in [0, \VAR{claim("short_context")}, \VAR{claim("context")}]:      # tokens of context (KV cache) per sequence
    for bs in range(1, 1025):
        p = mlsysim.Engine.solve(llama, hw, batch_size=bs, seq_len=ctx)
        if p.bottleneck == "Compute":
            print(f"context {ctx:>4}: flips at batch {bs}")
            break
    else:
        print(f"context {ctx:>4}: memory-bound up to batch 1024")
