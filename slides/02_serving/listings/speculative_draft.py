import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
serving = mlsysim.ServingModel()
# prints: K={spec.best_k}: {} tokens/pass, speedup {spec.best_speedup}x
# --- slide ---
draft = mlsysim.Models.Language.Llama3_2_1B   # same tokenizer
for k in [\VAR{claim("spec.draft_sweep")}]:
    r = serving.solve(llama, hw, seq_len=\VAR{claim("context")}, draft_model=draft,
                      draft_acceptance_rate=\VAR{claim("spec.alpha")}, draft_tokens=k)
    print(f"K={k}: {r.expected_tokens_per_pass:.2f} tokens/pass, "
          f"speedup {r.speculative_speedup:.2f}x")
