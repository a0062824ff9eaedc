import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
serving = mlsysim.ServingModel()
# --- slide ---
draft = mlsysim.Models.Language.Llama3_2_1B   # same tokenizer
for k in [1, 3, 5, 8]:
    r = serving.solve(llama, hw, seq_len=4096, draft_model=draft,
                      draft_acceptance_rate=0.7, draft_tokens=k)
    print(f"K={k}: {r.expected_tokens_per_pass:.2f} tokens/pass, "
          f"speedup {r.speculative_speedup:.2f}x")
